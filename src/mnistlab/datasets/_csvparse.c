/* The hot loop of mnistlab.datasets.csvfile: well-formed Kaggle-layout CSV lines to uint8 pixels.
 *
 * Written by hand because pandas, pyarrow and polars all take 1-2 s for the 60000x785 file on this machine
 * (benchmarks/suite.py, csv_parse) while this loop reads it in ~0.2 s on one core. It only accepts the
 * common case (1-3 digit pixels 0..255, a label of up to 9 digits, ',' between fields, '\n' or '\r\n' at
 * the end of each line) and returns -1 at anything else: the careful numpy parser then finds the problem
 * and names its line and column. The build is optional; without it csvfile.py parses in numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* One field at p: 1..max_digits digits, then `sep` ('\n' also matches "\r\n" and the end of the text).
 * Returns the position after the separator, or NULL. */
static inline const uint8_t *field(const uint8_t *p, const uint8_t *end, int max_digits, uint8_t sep,
                                   int64_t *value) {
    int64_t v = 0;
    int digits = 0;
    unsigned d;
    while (p < end && (d = (unsigned)(*p - '0')) <= 9 && digits < max_digits) {
        v = v * 10 + d;
        p++;
        digits++;
    }
    *value = v;
    if (digits == 0) return NULL;
    if (p == end) return sep == '\n' ? p : NULL; /* the last line may lack its newline */
    if (sep == '\n' && *p == '\r' && p + 1 < end) p++;
    return *p == sep ? p + 1 : NULL; /* a digit here means too many digits */
}

/* Parse buf[start:stop] (whole lines) into pixels[first_row:], labels[first_row:]; rows written or -1. */
static Py_ssize_t parse(const uint8_t *buf, Py_ssize_t start, Py_ssize_t stop, uint8_t *pixels,
                        Py_ssize_t pixel_rows, int64_t *labels, Py_ssize_t first_row, int has_label,
                        int n_pixels) {
    const uint8_t *p = buf + start, *end = buf + stop;
    Py_ssize_t row = first_row;
    int64_t value;
    while (p < end) {
        if (row >= pixel_rows) return -1;
        if (has_label) { /* up to 9 digits: the same limit as the numpy parser */
            if (!(p = field(p, end, 9, ',', &value))) return -1;
            labels[row] = value;
        }
        uint8_t *out = pixels + row * n_pixels;
        for (int col = 0; col < n_pixels; col++) {
            if (!(p = field(p, end, 3, col == n_pixels - 1 ? '\n' : ',', &value)) || value > 255) return -1;
            out[col] = (uint8_t)value;
        }
        row++;
    }
    return row - first_row;
}

static PyObject *parse_lines(PyObject *self, PyObject *args) {
    Py_buffer text, pixels, labels;
    Py_ssize_t start, stop, first_row;
    int has_label, n_pixels;
    if (!PyArg_ParseTuple(args, "y*nnw*w*nii", &text, &start, &stop, &pixels, &labels, &first_row,
                          &has_label, &n_pixels))
        return NULL;
    Py_ssize_t rows = -1;
    const Py_ssize_t pixel_rows = n_pixels > 0 ? pixels.len / n_pixels : 0;
    const int fits = n_pixels > 0 && 0 <= start && start <= stop && stop <= text.len && first_row >= 0 &&
                     labels.len >= pixel_rows * (Py_ssize_t)sizeof(int64_t);
    if (fits) {
        Py_BEGIN_ALLOW_THREADS
        rows = parse((const uint8_t *)text.buf, start, stop, (uint8_t *)pixels.buf, pixel_rows,
                     (int64_t *)labels.buf, first_row, has_label != 0, n_pixels);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&text);
    PyBuffer_Release(&pixels);
    PyBuffer_Release(&labels);
    if (!fits) {
        PyErr_SetString(PyExc_ValueError, "parse_lines: buffer sizes do not match the arguments");
        return NULL;
    }
    return PyLong_FromSsize_t(rows);
}

static PyMethodDef methods[] = {
    {"parse_lines", parse_lines, METH_VARARGS,
     "parse_lines(text, start, stop, pixels, labels, first_row, has_label, n_pixels) -> rows or -1"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvparse", NULL, -1, methods};

PyMODINIT_FUNC PyInit__csvparse(void) { return PyModule_Create(&module); }
