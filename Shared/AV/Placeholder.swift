// placeholder until the AV core lands
