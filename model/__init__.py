"""The digit CNN: data, training, calibration, conversion and fast inference."""
