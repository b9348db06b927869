"""Prediction on users' own data and ONNX export."""
