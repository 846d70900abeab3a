"""A starting layout for the embeddings that is the same bits on every machine.

UMAP and t-SNE start from an initial layout and then run a seeded optimisation. That
optimisation is chaotic: on the bundled data, moving UMAP's starting coordinates by one
float32 step (a relative 1e-7) gives a final layout whose ward k = 8 clusters agree with the
unperturbed ones at an adjusted Rand index of 0.66. So the result is reproducible only if
every input of the optimisation is bit-identical wherever it runs.

UMAP's default start, the spectral layout, is not: it solves a nearly degenerate eigen-
problem of the neighbour graph with ARPACK (tolerance 1e-4) on top of BLAS, and OpenBLAS
picks another kernel on another CPU, summing in another order. Same data and seed gave 913,
1,097 and 911 Insiders on the Haswell, SkylakeX and Sandybridge kernels.

:func:`principal_layout` is the principal-component projection of the (scaled) features,
computed without BLAS or LAPACK and independent of the order of the rows:

- the mean and every entry of the covariance matrix are correctly rounded sums
  (:func:`math.fsum`, exact whatever the summation order);
- the eigenvectors of that small (features x features) matrix come from cyclic Jacobi
  rotations in plain Python floats, a fixed sequence of IEEE operations;
- each eigenvector's sign is fixed (its largest loading is positive);
- each coordinate is a fixed sequence of element-wise operations on one row.

IEEE 754 makes each of those operations correctly rounded, so the layout is a function of the
data alone, bit for bit; the optimisation that follows is seeded and single-threaded. The
principal components also start the layout from the features' own global structure, which
the spectral start of a connected graph only approximates.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["principal_layout", "symmetric_eigen"]


def symmetric_eigen(
    matrix: list[list[float]], *, sweeps: int = 100
) -> tuple[list[float], list[list[float]]]:
    """Eigenvalues (descending) and eigenvectors (columns) of a small symmetric matrix.

    Cyclic Jacobi rotations in Python floats: a fixed sequence of IEEE 754 operations, so the
    result is the same bits on any machine. Meant for a few dozen rows at most.
    """
    n = len(matrix)
    a = [list(map(float, row)) for row in matrix]
    v = [[float(i == j) for j in range(n)] for i in range(n)]
    for _ in range(sweeps):
        off = math.fsum(a[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        scale = math.fsum(a[i][i] ** 2 for i in range(n))
        if off <= 1e-30 * max(scale, 1e-300):
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if a[p][q] == 0.0:
                    continue
                theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q])
                t = math.copysign(1.0, theta) / (abs(theta) + math.sqrt(theta * theta + 1.0))
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):  # columns p and q of A
                    akp, akq = a[k][p], a[k][q]
                    a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
                for k in range(n):  # rows p and q of A
                    apk, aqk = a[p][k], a[q][k]
                    a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
                for k in range(n):
                    vkp, vkq = v[k][p], v[k][q]
                    v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
    order = sorted(range(n), key=lambda i: (-a[i][i], i))
    values = [a[i][i] for i in order]
    vectors = [[v[k][i] for i in order] for k in range(n)]
    return values, vectors


def principal_layout(X: np.ndarray, n_components: int = 2, *, random_state: int = 42) -> np.ndarray:
    """The rows of ``X`` projected on its first principal components, bit-reproducible.

    Args:
        X: one row per point (e.g. the scaled customer features); at least one column.
        n_components: coordinates per point. Components beyond ``X``'s columns, or with
            no variance, are filled with seeded uniform noise the size of the first one, so
            the layout never collapses to a line or a point.
        random_state: seed of that filling (unused when every component has variance).

    Returns:
        ``(n_points, n_components)`` float64 array; the same bits for the same ``X`` on any
        machine; when every component has variance, each row's coordinates do not depend on
        the order of the rows.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    columns = [np.ascontiguousarray(X[:, j]) for j in range(d)]
    means = [math.fsum(col) / n for col in columns]
    centred = [col - mean for col, mean in zip(columns, means, strict=True)]
    cov = [[0.0] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            cov[i][j] = cov[j][i] = math.fsum(centred[i] * centred[j]) / max(n - 1, 1)
    values, vectors = symmetric_eigen(cov)
    out = np.zeros((n, n_components), dtype=np.float64)
    for c in range(min(n_components, d)):
        if values[c] <= 0.0:
            break
        loadings = [vectors[k][c] for k in range(d)]
        top = max(range(d), key=lambda k: (abs(loadings[k]), -k))
        sign = 1.0 if loadings[top] >= 0.0 else -1.0
        coordinate = np.zeros(n, dtype=np.float64)
        for k in range(d):  # one fixed order of element-wise operations
            coordinate = coordinate + centred[k] * (sign * loadings[k])
        out[:, c] = coordinate
    spread = float(out[:, 0].max() - out[:, 0].min()) or 1.0
    rng = np.random.RandomState(random_state)
    for c in range(n_components):
        if not out[:, c].any():  # no variance left: seeded noise instead of a flat line
            out[:, c] = rng.uniform(-0.5 * spread, 0.5 * spread, size=n)
    return out
