"""One record -> beats pipeline for training and prediction alike.

* :mod:`.filters` - baseline-wander / mains filtering, resampling;
* :mod:`.detect` - R-peak detection (neurokit2) and scoring against annotations;
* :mod:`.contract` - the input contracts (Kaggle single beat, rhythm-aware beat);
* :mod:`.pipeline` - :class:`~cardiacml.data.records.Record` -> beats, whole or streamed in chunks;
* :mod:`.predict` - classify every beat of a raw record into a CSV, streaming, with a summary.
"""
