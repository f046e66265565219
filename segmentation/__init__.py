"""Pure image work: loading, registration, segmentation, normalisation.

No TensorFlow and no database: the classifier arrives through ``types.DigitClassifier``.
"""
