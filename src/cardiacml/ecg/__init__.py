"""ECG signal processing on arrays and :class:`cardiacml.io.Record` objects (never paths).

* :mod:`.filters` - baseline-wander / mains filtering, resampling;
* :mod:`.detect` - R-peak detection (neurokit2) and scoring against annotations;
* :mod:`.aami` - AAMI EC57 classes of beat annotations, Se / +P reports;
* :mod:`.pipeline` - Record -> beats for both beat contracts, whole or streamed in chunks;
* :mod:`.twelve_lead` - 12-lead naming, QRS onsets and the 500 ms beat window of Tasks 3-4;
* :mod:`.rhythm` - atrial fibrillation / flutter episodes and the AF burden (:func:`.rhythm.detect_af`);
* :mod:`.quality` - the signal-quality check of each 10 s window (Orphanidou et al. 2015);
* :mod:`.augment` - recorder effects and atrial activity as augmentations; :mod:`.median` - beat-template medians.

The floor below is :mod:`cardiacml.io` (records) and :mod:`cardiacml.contracts`; nothing here opens files.
"""
