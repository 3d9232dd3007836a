"""The machine-learned parts of the guard, for the ``gatehouse[ml]`` extra (numpy only).

``wordpiece`` turns text into BERT token ids, ``safetensors`` reads the weights,
``bert`` is the forward pass, ``encoder`` turns texts into sentence vectors with a
local all-MiniLM-L6-v2, and ``head`` is the logistic-regression classifier
(with calibrated probabilities) that the semantic scanners put on top of those vectors.
They run in the scan worker process; nothing is imported here, so importing the package
does not need numpy.
"""
