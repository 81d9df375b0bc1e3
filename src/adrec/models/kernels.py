"""Compiled kernels for matrix factorization, working in place on the module's weights.

The kernels read and write the very arrays that back :class:`MatrixFactorization`'s
parameters (``tensor.numpy()`` shares memory on the CPU), so there is one model
definition: a model trained by a kernel is scored by the module and vice versa.

Training is lock-free parallel SGD: threads take blocks of rows and update the
embeddings of each row's user and interest as they go, without locks. On sparse data
two threads rarely touch the same row at once, so the few updates lost that way
barely change the result. With one thread the pass is sequential and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

# fastmath lets the compiler vectorize the dot product and the update loop.
_JIT = dict(nogil=True, fastmath=True, cache=True)


@njit(parallel=True, **_JIT)
def sgd_epoch(block_order, block_size, users, interests, targets, user_vectors, interest_vectors,
              user_bias, interest_bias, global_mean, learning_rate, l2, bias_l2):
    """Run one SGD pass over the rows in the order of ``block_order`` and return the sum of squared errors.

    Row block ``b`` is ``[b * block_size, (b + 1) * block_size)``. Each row's
    error ``e = target - prediction`` moves the user vector by
    ``learning_rate * (e * q - l2 * p)``, the interest vector likewise, and the
    biases (when ``user_bias`` is not empty) by ``learning_rate * (e - bias_l2 * b)``.
    """
    n_rows = targets.shape[0]
    dim = user_vectors.shape[1]
    use_bias = user_bias.shape[0] > 0
    n_blocks = block_order.shape[0]
    squared_errors = np.zeros(n_blocks)

    for position in prange(n_blocks):
        start = block_order[position] * block_size
        stop = min(n_rows, start + block_size)
        block_sum = 0.0
        for row in range(start, stop):
            user = users[row]
            interest = interests[row]

            prediction = global_mean
            if use_bias:
                prediction += user_bias[user] + interest_bias[interest]
            for k in range(dim):
                prediction += user_vectors[user, k] * interest_vectors[interest, k]
            error = targets[row] - prediction
            block_sum += error * error

            if use_bias:
                user_bias[user] += learning_rate * (error - bias_l2 * user_bias[user])
                interest_bias[interest] += learning_rate * (error - bias_l2 * interest_bias[interest])
            for k in range(dim):
                p = user_vectors[user, k]
                q = interest_vectors[interest, k]
                user_vectors[user, k] = p + learning_rate * (error * q - l2 * p)
                interest_vectors[interest, k] = q + learning_rate * (error * p - l2 * q)
        squared_errors[position] = block_sum

    return squared_errors.sum()


@njit(parallel=True, **_JIT)
def predict_pairs(users, interests, user_vectors, interest_vectors, user_bias, interest_bias,
                  global_mean):
    """Return the prediction of each (user, interest) pair, as the module's forward computes it."""
    n_pairs = users.shape[0]
    dim = user_vectors.shape[1]
    use_bias = user_bias.shape[0] > 0
    predictions = np.empty(n_pairs, dtype=np.float64)

    for row in prange(n_pairs):
        user = users[row]
        interest = interests[row]
        value = 0.0
        for k in range(dim):
            value += user_vectors[user, k] * interest_vectors[interest, k]
        if use_bias:
            value += user_bias[user] + interest_bias[interest] + global_mean
        predictions[row] = value

    return predictions


def factorization_arrays(model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Return NumPy views of a CPU :class:`MatrixFactorization`'s weights and its global mean.

    The views share memory with the parameters, so a kernel's updates are the
    module's updates. A model without biases gets empty bias arrays.
    """
    user_vectors = model.user_embedding.weight.detach().numpy()
    interest_vectors = model.interest_embedding.weight.detach().numpy()
    if model.use_bias:
        user_bias = model.user_bias.weight.detach().numpy().reshape(-1)
        interest_bias = model.interest_bias.weight.detach().numpy().reshape(-1)
    else:
        user_bias = np.zeros(0, dtype=user_vectors.dtype)
        interest_bias = np.zeros(0, dtype=user_vectors.dtype)
    return user_vectors, interest_vectors, user_bias, interest_bias, float(model.global_mean)


@contextmanager
def kernel_threads(threads: int | None) -> Iterator[int]:
    """Run the kernels inside the block with ``threads`` threads (None: all cores); yield the count."""
    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(previous)
