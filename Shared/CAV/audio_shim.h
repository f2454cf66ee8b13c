// Shim additions for the audio pipeline.
#pragma once
