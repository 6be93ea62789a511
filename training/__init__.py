"""The LeNet training job: any backend (or the NumPy reference) on Fashion-MNIST.

``python -m training --backend torch --epochs 10`` (``nox -s train-torch``).
"""
