/* gitroi._speedups: optional compiled kernels of the survival replay (docs/speedups.md).
 *
 * Each function here has a pure-Python twin in gitroi/survival/ that is the
 * reference: same inputs, same outputs, same order (tests/test_speedups.py runs
 * both and compares).  A function returns None when an input is outside what it
 * handles (a code that does not fit in 64 bits, an object that is not an int):
 * the caller then runs the Python twin, so the extension can only make a run
 * faster, never different.  Building it is optional (setup.py): without a C
 * compiler gitroi installs and runs on the Python code alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* gitroi/survival/codes.py: code >> CSHIFT is the origin commit (0: unknown origin). */
#define CSHIFT 44

/* ------------------------------------------------------------------ int64 set */

/* Open addressing, linear probing, power-of-two capacity at most half full.
 * state: 0 empty, 1 held once by the merge, 2 held more than once, 3 a code
 * of a parent's version seen (and not held by the merge). */
typedef struct {
    uint64_t *keys;
    uint8_t *state;
    size_t mask;
    int shift;
} Table;

static int table_init(Table *t, Py_ssize_t n) {
    size_t cap = 16;
    int bits = 4;
    while (cap < (size_t)n * 2 + 16) {
        cap <<= 1;
        bits++;
    }
    t->keys = (uint64_t *)PyMem_Malloc(cap * sizeof(uint64_t));
    t->state = (uint8_t *)PyMem_Calloc(cap, 1);
    if (t->keys == NULL || t->state == NULL) {
        PyMem_Free(t->keys);
        PyMem_Free(t->state);
        PyErr_NoMemory();
        return -1;
    }
    t->mask = cap - 1;
    t->shift = 64 - bits;
    return 0;
}

static void table_free(Table *t) {
    PyMem_Free(t->keys);
    PyMem_Free(t->state);
}

/* The slot holding k, or the empty slot where it goes. */
static inline size_t table_slot(const Table *t, uint64_t k) {
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ULL) >> t->shift);
    while (t->state[i] && t->keys[i] != k)
        i = (i + 1) & t->mask;
    return i;
}

/* A code as an unsigned 64-bit integer; 0 when it is not one (no error left set). */
static inline int as_u64(PyObject *o, uint64_t *out) {
    if (!PyLong_CheckExact(o))
        return 0;
#if ULONG_MAX == UINT64_MAX
    unsigned long v = PyLong_AsUnsignedLong(o);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
#else
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
#endif
    *out = (uint64_t)v;
    return 1;
}

static Py_ssize_t total_len(PyObject *lists) {
    Py_ssize_t n = 0;
    Py_ssize_t m = PyList_GET_SIZE(lists);
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *lst = PyList_GET_ITEM(lists, i);
        if (!PyList_Check(lst))
            return -1;
        n += PyList_GET_SIZE(lst);
    }
    return n;
}

/* ------------------------------------------------------------------ merge_deaths */

PyDoc_STRVAR(merge_deaths_doc,
"merge_deaths(held, now, known) -> (dead, dups) | None\n\n"
"The C twin of gitroi.survival.replay.merge_deaths_py: ``dead`` the codes of the\n"
"parents' versions ``held`` that none of the merge's versions ``now`` holds, each\n"
"once, in the order met; ``dups`` the codes ``now`` holds more than once, not of\n"
"an unknown origin and not in ``known``, in the order their second copy is met.\n"
"None when a code is not an int that fits in 64 bits.");

static PyObject *merge_deaths(PyObject *self, PyObject *args) {
    PyObject *held, *now, *known;
    if (!PyArg_ParseTuple(args, "O!O!O:merge_deaths", &PyList_Type, &held, &PyList_Type, &now, &known))
        return NULL;
    if (!PyAnySet_Check(known)) {
        PyErr_SetString(PyExc_TypeError, "merge_deaths: known must be a set");
        return NULL;
    }
    Py_ssize_t n_now = total_len(now), n_held = total_len(held);
    if (n_now < 0 || n_held < 0)
        Py_RETURN_NONE;
    Table t;
    if (table_init(&t, n_now + n_held) < 0)
        return NULL;
    PyObject *dead = NULL, *dups = PyList_New(0);
    if (dups == NULL)
        goto fail;
    Py_ssize_t m = PyList_GET_SIZE(now);
    for (Py_ssize_t a = 0; a < m; a++) {
        PyObject *lst = PyList_GET_ITEM(now, a);
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(lst); j++) {
            PyObject *o = PyList_GET_ITEM(lst, j);
            uint64_t k;
            if (!as_u64(o, &k))
                goto fallback;
            size_t i = table_slot(&t, k);
            if (t.state[i] == 0) {
                t.keys[i] = k;
                t.state[i] = 1;
            } else if (t.state[i] == 1) {
                t.state[i] = 2;
                if ((k >> CSHIFT) != 0) {
                    int in = PySet_Contains(known, o);
                    if (in < 0)
                        goto fail;
                    if (!in && PyList_Append(dups, o) < 0)
                        goto fail;
                }
            }
        }
    }
    dead = PyList_New(0);
    if (dead == NULL)
        goto fail;
    m = PyList_GET_SIZE(held);
    for (Py_ssize_t a = 0; a < m; a++) {
        PyObject *lst = PyList_GET_ITEM(held, a);
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(lst); j++) {
            PyObject *o = PyList_GET_ITEM(lst, j);
            uint64_t k;
            if (!as_u64(o, &k))
                goto fallback;
            size_t i = table_slot(&t, k);
            if (t.state[i] == 0) {
                t.keys[i] = k;
                t.state[i] = 3;
                if (PyList_Append(dead, o) < 0)
                    goto fail;
            }
        }
    }
    table_free(&t);
    PyObject *res = PyTuple_Pack(2, dead, dups);
    Py_DECREF(dead);
    Py_DECREF(dups);
    return res;
fallback:
    table_free(&t);
    Py_XDECREF(dead);
    Py_XDECREF(dups);
    Py_RETURN_NONE;
fail:
    table_free(&t);
    Py_XDECREF(dead);
    Py_XDECREF(dups);
    return NULL;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"merge_deaths", merge_deaths, METH_VARARGS, merge_deaths_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gitroi._speedups",
    "Optional compiled kernels of the survival replay; each has a pure-Python twin (docs/speedups.md).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    /* ABI: the version of the kernels' signatures (gitroi/speedups.py checks it). */
    if (PyModule_AddIntConstant(m, "CSHIFT", CSHIFT) < 0 || PyModule_AddIntConstant(m, "ABI", 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
