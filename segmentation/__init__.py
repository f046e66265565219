"""Pure image work: loading, registration, segmentation, normalisation. No TensorFlow, no database."""
