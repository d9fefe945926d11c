import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Two-core CI machine: keep TensorFlow from oversubscribing it when tests run in one process.
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
