"""Exact references, NumPy only: what the trained models are checked against.

- :mod:`course_lib.theory.gan`: D*, V(G, D), C(G) and the divergences for densities on a grid;
- :mod:`course_lib.theory.hvae`: a linear-Gaussian Markovian HVAE whose ELBO is exact.
"""
