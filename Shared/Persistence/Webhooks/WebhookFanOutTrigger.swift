extension TriggerFunction {
    /// Makes a delivery of each recorded media event for every webhook of its user that asked for its type, in the
    /// transaction that records the event: no event a webhook asked for is lost between the change and the sender
    /// (`WebhookSender` claims them from `webhook_deliveries`).
    static let webhookFanOut = TriggerFunction(
        name: "webhook_fan_out",
        function: """
            CREATE OR REPLACE FUNCTION webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, next_attempt_at)
                SELECT w.id, NEW.id, NEW.type, now() FROM webhooks w
                WHERE w.user_id = NEW.user_id AND NEW.type = ANY (w.events);
                RETURN NULL;
            END
            $$
            """,
        triggers: [Trigger(
            name: "webhook_fan_out", table: "media_events",
            definition: """
                CREATE TRIGGER webhook_fan_out AFTER INSERT ON media_events
                FOR EACH ROW EXECUTE FUNCTION webhook_fan_out()
                """)])
}
