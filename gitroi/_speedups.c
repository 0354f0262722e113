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

/* The version of the kernels' signatures: gitroi/speedups.py's ABI, bumped together whenever a
 * kernel is added or changes, so that a build left from an older checkout is not used. */
#define ABI 3

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

/* ------------------------------------------------------------------ merge_held */

PyDoc_STRVAR(merge_held_doc,
"merge_held(views, files) -> (held, paths)\n\n"
"The C twin of gitroi.survival.replay.merge_held_py: for each parent's files\n"
"(``views``, dicts of path -> list of codes, in order), the non-empty versions\n"
"that ``files`` (the merge's) does not hold as the same list object, and their paths.");

static PyObject *merge_held(PyObject *self, PyObject *args) {
    PyObject *views, *files;
    if (!PyArg_ParseTuple(args, "O!O!:merge_held", &PyList_Type, &views, &PyDict_Type, &files))
        return NULL;
    PyObject *held = PyList_New(0), *paths = PyList_New(0);
    if (held == NULL || paths == NULL)
        goto fail;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(views); k++) {
        PyObject *view = PyList_GET_ITEM(views, k);
        if (!PyDict_Check(view)) {
            PyErr_SetString(PyExc_TypeError, "merge_held: views must be dicts");
            goto fail;
        }
        Py_ssize_t pos = 0;
        PyObject *path, *lst;
        while (PyDict_Next(view, &pos, &path, &lst)) {
            int truth = PyList_CheckExact(lst) ? PyList_GET_SIZE(lst) > 0 : PyObject_IsTrue(lst);
            if (truth < 0)
                goto fail;
            if (!truth)
                continue;
            PyObject *now = PyDict_GetItemWithError(files, path);
            if (now == NULL && PyErr_Occurred())
                goto fail;
            if (now == lst)
                continue;
            if (PyList_Append(held, lst) < 0 || PyList_Append(paths, path) < 0)
                goto fail;
        }
    }
    PyObject *res = PyTuple_Pack(2, held, paths);
    Py_DECREF(held);
    Py_DECREF(paths);
    return res;
fail:
    Py_XDECREF(held);
    Py_XDECREF(paths);
    return NULL;
}

/* ------------------------------------------------------------------ new_codes */

/* gitroi/survival/codes.py: LINE_BITS; a code's commit and path, ``base``, is below 2^42. */
#define LINE_BITS 20
#define LINE_MASK ((1LL << LINE_BITS) - 1)

static int is_minus_one(PyObject *o) {
    int ovf = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &ovf);
    return v == -1 && !ovf;
}

PyDoc_STRVAR(new_codes_doc,
"new_codes(acodes, adds, ns, base, flag, pre) -> bool\n\n"
"The C twin of gitroi.survival.replay.new_codes_py: fill the slots of ``acodes``\n"
"still -1 with the codes of new lines.  False, with ``acodes`` untouched, for\n"
"what it leaves to the twin (a code above 64 bits, an object of another type).");

static PyObject *new_codes(PyObject *self, PyObject *args) {
    PyObject *acodes, *adds, *pre, *ns_o, *base_o, *flag_o;
    if (!PyArg_ParseTuple(args, "O!O!OOOO!:new_codes", &PyList_Type, &acodes, &PyList_Type, &adds, &ns_o, &base_o,
                          &flag_o, &PyTuple_Type, &pre))
        return NULL;
    uint64_t ns, base, flag;
    if (!as_u64(ns_o, &ns) || !as_u64(base_o, &base) || !as_u64(flag_o, &flag))
        Py_RETURN_FALSE;
    Py_ssize_t n = PyList_GET_SIZE(acodes);
    if (PyList_GET_SIZE(adds) != n || ns > (1ULL << 40) || base >> 42 || (flag != 0 && flag != 2))
        Py_RETURN_FALSE;
    Py_ssize_t npre = PyTuple_GET_SIZE(pre);
    for (Py_ssize_t k = 0; k < npre; k++)
        if (!PyBytes_CheckExact(PyTuple_GET_ITEM(pre, k)))
            Py_RETURN_FALSE;
    for (Py_ssize_t j = 0; j < n; j++)
        if (!PyLong_CheckExact(PyList_GET_ITEM(acodes, j)) || !PyBytes_Check(PyList_GET_ITEM(adds, j)))
            Py_RETURN_FALSE;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (!is_minus_one(PyList_GET_ITEM(acodes, j)))
            continue;
        PyObject *a = PyList_GET_ITEM(adds, j);
        const char *sp = PyBytes_AS_STRING(a);
        Py_ssize_t sn = PyBytes_GET_SIZE(a);
        int is_code = sn > 0;
        for (Py_ssize_t k = 0; is_code && k < npre; k++) {
            PyObject *p = PyTuple_GET_ITEM(pre, k);
            Py_ssize_t pn = PyBytes_GET_SIZE(p);
            if (pn <= sn && memcmp(sp, PyBytes_AS_STRING(p), (size_t)pn) == 0)
                is_code = 0;
        }
        uint64_t line = ns + (uint64_t)j < (uint64_t)LINE_MASK ? ns + (uint64_t)j : (uint64_t)LINE_MASK;
        uint64_t code = (((base << LINE_BITS) | line) << 2) | flag | (uint64_t)is_code;
        PyObject *v = PyLong_FromUnsignedLongLong(code);
        if (v == NULL)
            return NULL;
        PyList_SetItem(acodes, j, v);
    }
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------ parse_hunks */

/* bytes.strip(): ASCII whitespace off both ends; the same object when nothing is stripped. */
static PyObject *strip_bytes(PyObject *b) {
    const char *s = PyBytes_AS_STRING(b);
    Py_ssize_t i = 0, j = PyBytes_GET_SIZE(b);
    while (i < j && Py_ISSPACE(s[i]))
        i++;
    while (j > i && Py_ISSPACE(s[j - 1]))
        j--;
    if (i == 0 && j == PyBytes_GET_SIZE(b)) {
        Py_INCREF(b);
        return b;
    }
    return PyBytes_FromStringAndSize(s + i, j - i);
}

/* raw[1:-1]: a patch line without its marker and its newline. */
static PyObject *body_of(PyObject *raw) {
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(raw) + 1, n >= 2 ? n - 2 : 0);
}

/* The next line of the stream (a new reference), NULL at its end or on error (check PyErr_Occurred). */
static PyObject *next_line(PyObject *it) {
    PyObject *o = PyIter_Next(it);
    if (o != NULL && !PyBytes_Check(o)) {
        PyErr_Format(PyExc_TypeError, "parse_hunks: the stream gave %.100s, not bytes", Py_TYPE(o)->tp_name);
        Py_DECREF(o);
        return NULL;
    }
    return o;
}

static int read_num(const char **p, const char *end, long long *out) {
    const char *q = *p;
    long long v = 0;
    int n = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        if (++n > 18)
            return 0;
        v = v * 10 + (*q - '0');
        q++;
    }
    if (n == 0)
        return 0;
    *p = q;
    *out = v;
    return 1;
}

/* ``@@ -a[,b] +c[,d] @@`` at the start of the line (patch.py's _HUNK, re.match); 0 if not. */
static int hunk_header(PyObject *line, long long v[4]) {
    const char *p = PyBytes_AS_STRING(line), *end = p + PyBytes_GET_SIZE(line);
    if (end - p < 4 || memcmp(p, "@@ -", 4) != 0)
        return 0;
    p += 4;
    if (!read_num(&p, end, &v[0]))
        return 0;
    v[1] = 1;
    if (p < end && *p == ',') {
        p++;
        if (!read_num(&p, end, &v[1]))
            return 0;
    }
    if (end - p < 2 || p[0] != ' ' || p[1] != '+')
        return 0;
    p += 2;
    if (!read_num(&p, end, &v[2]))
        return 0;
    v[3] = 1;
    if (p < end && *p == ',') {
        p++;
        if (!read_num(&p, end, &v[3]))
            return 0;
    }
    return end - p >= 3 && memcmp(p, " @@", 3) == 0;
}

static PyObject *stripped(PyObject *lst) {
    Py_ssize_t n = PyList_GET_SIZE(lst);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = strip_bytes(PyList_GET_ITEM(lst, i));
        if (s == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, s);
    }
    return out;
}

/* Hunk(os, oc, ns, nc, dels, adds[, sdels, sadds]) appended to out; 0 on success. */
static int emit_hunk(PyObject *out, PyObject *type, long long os, long long ns, PyObject *dels, PyObject *adds,
                     int strip) {
    PyObject *args[8] = {NULL};
    int rc = -1, n = strip ? 8 : 6;
    args[0] = PyLong_FromLongLong(os);
    args[1] = PyLong_FromSsize_t(PyList_GET_SIZE(dels));
    args[2] = PyLong_FromLongLong(ns);
    args[3] = PyLong_FromSsize_t(PyList_GET_SIZE(adds));
    args[4] = dels;
    args[5] = adds;
    Py_INCREF(dels);
    Py_INCREF(adds);
    if (strip) {
        args[6] = stripped(dels);
        args[7] = args[6] ? stripped(adds) : NULL;
    }
    for (int i = 0; i < n; i++)
        if (args[i] == NULL)
            goto done;
    PyObject *h = PyObject_Vectorcall(type, args, n, NULL);
    if (h == NULL)
        goto done;
    rc = PyList_Append(out, h);
    Py_DECREF(h);
done:
    for (int i = 0; i < 8; i++)
        Py_XDECREF(args[i]);
    return rc;
}

PyDoc_STRVAR(parse_hunks_doc,
"parse_hunks(lines, line, hunk_type, strip) -> (hunks, next_line)\n\n"
"The C twin of gitroi.git.patch._parse_hunks_py: the hunks starting at ``line``\n"
"(an ``@@ `` header) read from the iterator ``lines``, split at context lines, as\n"
"``hunk_type`` objects (with their stripped lines when ``strip``), and the first\n"
"line after them (None at the end of the stream).  It stops before a header it\n"
"cannot read (the Python twin reads it, or raises on it).");

static PyObject *parse_hunks(PyObject *self, PyObject *args) {
    PyObject *it, *line, *type;
    int strip;
    if (!PyArg_ParseTuple(args, "OSOp:parse_hunks", &it, &line, &type, &strip))
        return NULL;
    if (!PyIter_Check(it)) {
        PyErr_SetString(PyExc_TypeError, "parse_hunks: lines must be an iterator");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_INCREF(line);
    PyObject *dels = NULL, *adds = NULL;
    long long v[4];
    while (line != NULL && hunk_header(line, v)) {
        long long rd = v[1], ra = v[3];
        long long old_no = v[1] ? v[0] : v[0] + 1, new_no = v[3] ? v[2] : v[2] + 1;
        Py_CLEAR(line);
        if (rd == 0 || ra == 0) {
            /* A new or deleted file: one block, no context; take it whole. */
            long long n = rd ? rd : ra;
            PyObject *block = PyList_New(0);
            if (block == NULL)
                goto fail;
            for (long long k = 0; k < n; k++) {
                PyObject *raw = next_line(it);
                if (raw == NULL) {
                    if (PyErr_Occurred()) {
                        Py_DECREF(block);
                        goto fail;
                    }
                    break;
                }
                PyObject *b = body_of(raw);
                Py_DECREF(raw);
                if (b == NULL || PyList_Append(block, b) < 0) {
                    Py_XDECREF(b);
                    Py_DECREF(block);
                    goto fail;
                }
                Py_DECREF(b);
            }
            PyObject *empty = PyList_New(0);
            int rc = empty == NULL ? -1
                     : rd ? emit_hunk(out, type, v[0], v[2], block, empty, strip)
                          : emit_hunk(out, type, v[0], v[2], empty, block, strip);
            Py_XDECREF(empty);
            Py_DECREF(block);
            if (rc < 0)
                goto fail;
        } else {
            long long cur_os = 0, cur_ns = 0;
            for (;;) {
                PyObject *raw = next_line(it);
                if (raw == NULL) {
                    if (PyErr_Occurred())
                        goto fail;
                    break;
                }
                if (PyBytes_GET_SIZE(raw) == 0) {
                    Py_DECREF(raw);
                    PyErr_SetString(PyExc_IndexError, "index out of range");
                    goto fail;
                }
                char c = PyBytes_AS_STRING(raw)[0];
                if (c == '-' || c == '+') {
                    if (dels == NULL) {
                        dels = PyList_New(0);
                        adds = PyList_New(0);
                        if (dels == NULL || adds == NULL) {
                            Py_DECREF(raw);
                            goto fail;
                        }
                        cur_os = c == '-' ? old_no : old_no - 1;
                        cur_ns = c == '-' ? new_no - 1 : new_no;
                    } else if (c == '+' && PyList_GET_SIZE(adds) == 0) {
                        cur_ns = new_no;
                    }
                    PyObject *b = body_of(raw);
                    if (b == NULL || PyList_Append(c == '-' ? dels : adds, b) < 0) {
                        Py_XDECREF(b);
                        Py_DECREF(raw);
                        goto fail;
                    }
                    Py_DECREF(b);
                    if (c == '-') {
                        old_no++;
                        rd--;
                    } else {
                        new_no++;
                        ra--;
                    }
                } else if (c == ' ') {
                    if (dels != NULL) {
                        int rc = emit_hunk(out, type, cur_os, cur_ns, dels, adds, strip);
                        Py_CLEAR(dels);
                        Py_CLEAR(adds);
                        if (rc < 0) {
                            Py_DECREF(raw);
                            goto fail;
                        }
                    }
                    old_no++;
                    new_no++;
                    rd--;
                    ra--;
                } else if (c != '\\') {
                    line = raw; /* not '\ No newline at end of file': a malformed hunk */
                    break;
                }
                if (line == NULL)
                    Py_DECREF(raw);
                if (rd <= 0 && ra <= 0)
                    break;
            }
            if (dels != NULL) {
                int rc = emit_hunk(out, type, cur_os, cur_ns, dels, adds, strip);
                Py_CLEAR(dels);
                Py_CLEAR(adds);
                if (rc < 0)
                    goto fail;
            }
        }
        if (line == NULL) {
            line = next_line(it);
            if (line == NULL && PyErr_Occurred())
                goto fail;
        }
        while (line != NULL && PyBytes_GET_SIZE(line) > 0 && PyBytes_AS_STRING(line)[0] == '\\') {
            Py_DECREF(line);
            line = next_line(it);
            if (line == NULL && PyErr_Occurred())
                goto fail;
        }
    }
    PyObject *res = PyTuple_Pack(2, out, line != NULL ? line : Py_None);
    Py_DECREF(out);
    Py_XDECREF(line);
    return res;
fail:
    Py_XDECREF(dels);
    Py_XDECREF(adds);
    Py_XDECREF(line);
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"merge_held", merge_held, METH_VARARGS, merge_held_doc},
    {"merge_deaths", merge_deaths, METH_VARARGS, merge_deaths_doc},
    {"new_codes", new_codes, METH_VARARGS, new_codes_doc},
    {"parse_hunks", parse_hunks, METH_VARARGS, parse_hunks_doc},
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
    if (PyModule_AddIntConstant(m, "CSHIFT", CSHIFT) < 0 || PyModule_AddIntConstant(m, "ABI", ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
