/* wirekit.packet._speedups: C versions of the codec's decode hot path.
 *
 * Optional: the package works without it (every function here has a pure-Python twin that
 * stays the reference: Field.make_getter, packet.parse_python, Packet._grow, _first_of and
 * Layer.payload), and WIREKIT_PURE=1 turns it off.  Only what profiling showed to dominate
 * decoding lives here (docs/packet.md, Performance):
 *
 * - field getters (once per field read), with the dotted-quad text of IPv4 addresses;
 * - parse()'s common case, and the lazy walk: Packet._grow, pkt[cls] and Layer.payload.
 *
 * Slot offsets come from the member descriptors of the Python classes' __slots__, handed over
 * once by configure().  Anything unusual (a built layer without a header tuple, a layer that is
 * not Ether or IPv4 on the fast rules, a cut header, the MAX_LAYERS limit) goes to the Python
 * code, so the rules about unusual packets are written once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyTypeObject *layer_type = NULL;  /* wirekit.packet.layer.Layer */
static Py_ssize_t h_offset = -1;        /* offset of its _h slot */

/* -- IPv4 text ----------------------------------------------------------------------------- */

/* The dotted quad of 4 bytes, as socket.inet_ntoa gives it (RFC 791 addresses). */
static PyObject *
ipv4_text_of(PyObject *raw)
{
    if (!PyBytes_CheckExact(raw) || PyBytes_GET_SIZE(raw) != 4) {
        PyErr_SetString(PyExc_ValueError, "an IPv4 address is 4 bytes");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(raw);
    char text[16];
    Py_ssize_t n = 0;
    for (int i = 0; i < 4; i++) {  /* by hand: snprintf costs more than the rest together */
        unsigned v = b[i];
        if (v >= 100)
            text[n++] = (char)('0' + v / 100);
        if (v >= 10)
            text[n++] = (char)('0' + v / 10 % 10);
        text[n++] = (char)('0' + v % 10);
        text[n++] = '.';
    }
    PyObject *result = PyUnicode_New(n - 1, 127);
    if (result != NULL)
        memcpy(PyUnicode_1BYTE_DATA(result), text, (size_t)(n - 1));
    return result;
}

static PyObject *
ipv4_text(PyObject *module, PyObject *raw)
{
    (void)module;
    return ipv4_text_of(raw);
}

/* -- field getters ------------------------------------------------------------------------- */

enum { CONVERT_NONE = 0, CONVERT_CALL = 1, CONVERT_IPV4 = 2, CONVERT_INT = 3 };

typedef struct {
    PyObject_HEAD
    Py_ssize_t index;     /* position in the header tuple */
    int bits;             /* a bit field: shift and mask apply */
    unsigned long shift;
    unsigned long mask;
    int convert_kind;
    PyObject *convert;    /* CONVERT_CALL: a callable from wire value to user value */
    PyObject *fallback;   /* the Python getter, for layers without a header tuple */
    vectorcallfunc vectorcall;
} Getter;

static PyObject *
getter_read(Getter *self, PyObject *layer)
{
    if (h_offset < 0 || !PyObject_TypeCheck(layer, layer_type))
        return PyObject_CallOneArg(self->fallback, layer);
    PyObject *header = *(PyObject **)((char *)layer + h_offset);
    if (header == NULL || !PyTuple_CheckExact(header) || self->index >= PyTuple_GET_SIZE(header))
        return PyObject_CallOneArg(self->fallback, layer);
    PyObject *value = PyTuple_GET_ITEM(header, self->index);
    if (value == Py_None)
        Py_RETURN_NONE;
    PyObject *owned = NULL;
    if (self->bits) {
        if (!PyLong_CheckExact(value))
            return PyObject_CallOneArg(self->fallback, layer);
        unsigned long word = PyLong_AsUnsignedLong(value);
        if (word == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
        owned = PyLong_FromUnsignedLong((word >> self->shift) & self->mask);
        if (owned == NULL)
            return NULL;
        value = owned;
    }
    PyObject *result;
    switch (self->convert_kind) {
    case CONVERT_IPV4:  /* the header holds 4 bytes; anything else is the Python getter's */
        result = PyBytes_CheckExact(value) && PyBytes_GET_SIZE(value) == 4
            ? ipv4_text_of(value) : PyObject_CallOneArg(self->fallback, layer);
        break;
    case CONVERT_CALL:
        result = PyObject_CallOneArg(self->convert, value);
        break;
    default:  /* CONVERT_NONE and CONVERT_INT: the value is already an exact int or as stored */
        result = Py_NewRef(value);
    }
    Py_XDECREF(owned);
    return result;
}

static PyObject *
getter_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "a field getter takes one layer");
        return NULL;
    }
    return getter_read((Getter *)callable, args[0]);
}

static PyObject *
getter_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"index", "fallback", "convert", "bits", "shift", "mask", NULL};
    Py_ssize_t index;
    PyObject *fallback, *convert = Py_None;
    int bits = 0;
    unsigned long shift = 0, mask = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nO|OpkK:Getter", keywords, &index, &fallback,
                                     &convert, &bits, &shift, &mask))
        return NULL;
    if (index < 0 || shift >= 64) {
        PyErr_SetString(PyExc_ValueError, "bad field position");
        return NULL;
    }
    Getter *self = (Getter *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->index = index;
    self->bits = bits;
    self->shift = shift;
    self->mask = mask;
    self->fallback = Py_NewRef(fallback);
    if (convert == Py_None) {
        self->convert_kind = CONVERT_NONE;
    } else if (PyUnicode_Check(convert) && PyUnicode_CompareWithASCIIString(convert, "ipv4") == 0) {
        self->convert_kind = CONVERT_IPV4;
    } else if (convert == (PyObject *)&PyLong_Type) {
        self->convert_kind = CONVERT_INT;
    } else {
        self->convert_kind = CONVERT_CALL;
        self->convert = Py_NewRef(convert);
    }
    self->vectorcall = getter_vectorcall;
    return (PyObject *)self;
}

static int
getter_traverse(Getter *self, visitproc visit, void *arg)
{
    Py_VISIT(self->convert);
    Py_VISIT(self->fallback);
    return 0;
}

static int
getter_clear(Getter *self)
{
    Py_CLEAR(self->convert);
    Py_CLEAR(self->fallback);
    return 0;
}

static void
getter_dealloc(Getter *self)
{
    PyObject_GC_UnTrack(self);
    getter_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject GetterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wirekit.packet._speedups.Getter",
    .tp_basicsize = sizeof(Getter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Getter(index, fallback, convert=None, bits=False, shift=0, mask=0)\n--\n\n"
              "A field getter in C: header[index], shifted and masked for a bit field, then "
              "converted; layers without a header tuple go to *fallback*.",
    .tp_new = getter_new,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Getter, vectorcall),
    .tp_traverse = (traverseproc)getter_traverse,
    .tp_clear = (inquiry)getter_clear,
    .tp_dealloc = (destructor)getter_dealloc,
};

/* -- the lazy walk ------------------------------------------------------------------------- */

/* Packet._grow, Packet.__getitem__(cls) and Layer.payload in C, for parsed packets.  The
 * Python versions in packet.py and layer.py are the reference: this file follows them line by
 * line, and for two classes (Ether, IPv4) it also follows the "common case" their _next
 * methods already inline in Python.  Whatever is not the common case calls the Python method,
 * so the rules about unusual packets live in one place. */

/* Slot offsets, read from the member descriptors by configure(). */
static Py_ssize_t L_pkt = -1, L_idx, L_off, L_end, L_h, L_hlen, L_quoted, L_status;
static Py_ssize_t P_buf = -1, P_layers, P_complete, P_first, P_link, P_state;
static PyObject *python_parse = NULL;      /* the Python parse() */
static PyObject *default_link = NULL;      /* LinkType.ETHERNET */
static PyObject *link_classes = NULL;      /* LINK_TYPES.classes */
static PyTypeObject *packet_type = NULL;
static PyObject *raw_type = NULL;          /* Raw */
static PyObject *mark_unsupported = NULL;  /* packet._mark_unsupported */
static PyObject *python_grow = NULL;       /* the Python Packet._grow */
static Py_ssize_t max_layers = 64;
static PyTypeObject *ether_type = NULL, *ipv4_type = NULL;
static PyObject *ethertype_classes = NULL, *protocol_classes = NULL;  /* the registries' dicts */
static PyObject *s_struct, *s_unpack_from, *s_next, *s_finish_chain, *s_quotes;
static PyObject *s_may_quote;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* Store *value* (a new reference) in a slot, dropping what was there. */
static void
slot_set(PyObject *obj, Py_ssize_t off, PyObject *value)
{
    PyObject *old = SLOT(obj, off);
    SLOT(obj, off) = value;
    Py_XDECREF(old);
}

/* An exact int as a C integer; -1 with *ok* 0 when it is anything else (or too large). */
static Py_ssize_t
int_of(PyObject *value, int *ok)
{
    if (value == NULL || !PyLong_CheckExact(value)) {
        *ok = 0;
        return -1;
    }
    Py_ssize_t result = PyLong_AsSsize_t(value);
    if (result == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        *ok = 0;
    }
    return result;
}

#define slot_int(obj, off, ok) int_of(SLOT((obj), (off)), (ok))
#define item_int(header, i, ok) int_of(PyTuple_GET_ITEM((header), (i)), (ok))

static int
slot_set_int(PyObject *obj, Py_ssize_t off, Py_ssize_t value)
{
    PyObject *number = PyLong_FromSsize_t(value);
    if (number == NULL)
        return -1;
    slot_set(obj, off, number);
    return 0;
}

/* The next class from *table* at *key*, and the state _ensure and _decode leave on *prev*
 * in the common case: _quoted, _status None, _hlen, and _end when *end* >= 0.  1: found
 * (*cls* borrowed); 0: no class for the key (nothing changed); -1: error. */
static int
take_common_case(PyObject *prev, PyObject *table, PyObject *key, Py_ssize_t old_hlen,
                 Py_ssize_t hlen, Py_ssize_t end, PyObject **cls)
{
    PyObject *found = PyDict_GetItemWithError(table, key);
    if (found == NULL)
        return PyErr_Occurred() ? -1 : 0;
    slot_set(prev, L_quoted, Py_NewRef(old_hlen == -2 ? Py_True : Py_False));
    slot_set(prev, L_status, Py_NewRef(Py_None));
    if (slot_set_int(prev, L_hlen, hlen) < 0 || (end >= 0 && slot_set_int(prev, L_end, end) < 0))
        return -1;
    *cls = found;
    return 1;
}

/* The common case of Ether._next and IPv4._next (ether.py, ipv4.py), with the same state
 * changes.  1: *cls*, *start*, *end* are set (cls borrowed); 0: not the common case, ask
 * Python (nothing was changed); -1: error. */
static int
fast_next(PyObject *prev, PyObject **cls, Py_ssize_t *start, Py_ssize_t *end)
{
    PyTypeObject *type = Py_TYPE(prev);
    if (type != ether_type && type != ipv4_type)
        return 0;
    PyObject *header = SLOT(prev, L_h);
    if (header == NULL || !PyTuple_CheckExact(header))
        return 0;
    int ok = 1;
    Py_ssize_t hlen = slot_int(prev, L_hlen, &ok);
    Py_ssize_t off = slot_int(prev, L_off, &ok);
    Py_ssize_t stop = slot_int(prev, L_end, &ok);
    if (!ok || hlen >= 0)  /* decoded already: Python knows the rest */
        return 0;
    Py_ssize_t first, last;
    int taken;
    if (type == ether_type) {
        if (PyTuple_GET_SIZE(header) != 3)
            return 0;
        long kind = item_int(header, 2, &ok);
        if (!ok || kind <= 1500)  /* an 802.3 length: LLC follows (MAX_8023_LENGTH) */
            return 0;
        first = off + 14, last = stop;
        if (first >= last)
            return 0;
        taken = take_common_case(prev, ethertype_classes, PyTuple_GET_ITEM(header, 2), hlen,
                                 14, -1, cls);
    } else {
        if (PyTuple_GET_SIZE(header) != 10)
            return 0;
        long vihl = item_int(header, 0, &ok), total = item_int(header, 2, &ok);
        long frag = item_int(header, 4, &ok);
        if (!ok || vihl != 0x45 || total < 20 || off + total > stop || (frag & 0x1FFF))
            return 0;
        first = off + 20, last = off + total;
        if (first >= last)
            return 0;
        taken = take_common_case(prev, protocol_classes, PyTuple_GET_ITEM(header, 6), hlen,
                                 20, last, cls);
    }
    if (taken <= 0)
        return taken;
    *start = first, *end = last;
    return 1;
}

/* cls -> (cls._struct.unpack_from, cls._struct.size): a layer class's struct never changes
 * after compile_header (header.py), and looking both up costs more than the unpacking. */
static PyObject *struct_cache = NULL;

static PyObject *
struct_of(PyObject *cls, Py_ssize_t *size)
{
    PyObject *entry = PyDict_GetItemWithError(struct_cache, cls);
    if (entry == NULL) {
        if (PyErr_Occurred())
            return NULL;
        PyObject *header = PyObject_GetAttr(cls, s_struct);
        if (header == NULL)
            return NULL;
        PyObject *unpack = PyObject_GetAttr(header, s_unpack_from);
        PyObject *length = PyObject_GetAttrString(header, "size");
        Py_DECREF(header);
        if (unpack == NULL || length == NULL) {
            Py_XDECREF(unpack);
            Py_XDECREF(length);
            return NULL;
        }
        entry = PyTuple_Pack(2, unpack, length);
        Py_DECREF(unpack);
        Py_DECREF(length);
        if (entry == NULL)
            return NULL;
        int stored = PyDict_SetItem(struct_cache, cls, entry);
        Py_DECREF(entry);  /* the cache holds it */
        if (stored < 0)
            return NULL;
    }
    *size = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 1));
    if (*size < 0)
        return NULL;
    return PyTuple_GET_ITEM(entry, 0);  /* borrowed from the cache */
}

/* A new layer of *cls* over buf[start:end], as Packet._grow makes it. */
static PyObject *
new_layer(PyObject *pkt, PyObject *cls, Py_ssize_t count, Py_ssize_t start, Py_ssize_t end,
          int quoted)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, layer_type)) {
        PyErr_SetString(PyExc_TypeError, "a layer class is needed");
        return NULL;
    }
    Py_ssize_t size;
    PyObject *unpack = struct_of(cls, &size);
    if (unpack == NULL)
        return NULL;
    if (end - start < size)  /* a cut header: Layer._parse decides what it holds */
        return PyObject_CallMethod(cls, "_parse", "OnnnO", pkt, count, start, end,
                                   quoted ? Py_True : Py_False);
    PyObject *args[3] = {NULL, SLOT(pkt, P_buf), PyLong_FromSsize_t(start)};
    if (args[2] == NULL)
        return NULL;
    PyObject *values = PyObject_Vectorcall(unpack, args + 1,
                                           2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(args[2]);
    if (values == NULL)
        return NULL;
    /* A struct's tuple holds ints and bytes only, so it can never be part of a reference
     * cycle: untrack it now, as the collector would on its first pass (what
     * _PyTuple_MaybeUntrack does), so the collections the packet<->layer cycles cause
     * have one object less per layer to traverse. */
    if (PyTuple_CheckExact(values) && PyObject_GC_IsTracked(values))
        PyObject_GC_UnTrack(values);
    PyTypeObject *type = (PyTypeObject *)cls;
    PyObject *layer = type->tp_alloc(type, 0);
    if (layer == NULL) {
        Py_DECREF(values);
        return NULL;
    }
    SLOT(layer, L_pkt) = Py_NewRef(pkt);
    SLOT(layer, L_h) = values;
    if (slot_set_int(layer, L_idx, count) < 0 || slot_set_int(layer, L_off, start) < 0
            || slot_set_int(layer, L_end, end) < 0
            || slot_set_int(layer, L_hlen, quoted ? -2 : -1) < 0) {
        Py_DECREF(layer);
        return NULL;
    }
    return layer;
}

/* Where the layer after *previous* starts, which class decodes it, and whether it sits inside
 * a quoted datagram: the first half of Packet._grow.  1: found (*cls* and *note* are new
 * references, *note* may be NULL); 0: the chain ends (Python's _finish_chain must run);
 * -1: error. */
static int
next_step(PyObject *previous, PyObject **cls, Py_ssize_t *start, Py_ssize_t *end,
          PyObject **note, int *quoted)
{
    *note = NULL;
    int fast = fast_next(previous, cls, start, end);
    if (fast < 0)
        return -1;
    if (fast) {
        Py_INCREF(*cls);
    } else {
        PyObject *step = PyObject_CallMethodNoArgs(previous, s_next);
        if (step == NULL)
            return -1;
        if (step == Py_None) {
            Py_DECREF(step);
            return 0;
        }
        if (!PyTuple_CheckExact(step) || PyTuple_GET_SIZE(step) != 4) {
            Py_DECREF(step);
            PyErr_SetString(PyExc_TypeError, "_next must return (cls, start, end, note)");
            return -1;
        }
        *start = PyLong_AsSsize_t(PyTuple_GET_ITEM(step, 1));
        *end = PyLong_AsSsize_t(PyTuple_GET_ITEM(step, 2));
        if ((*start == -1 || *end == -1) && PyErr_Occurred()) {
            Py_DECREF(step);
            return -1;
        }
        *cls = Py_NewRef(PyTuple_GET_ITEM(step, 0));
        *note = Py_NewRef(PyTuple_GET_ITEM(step, 3));
        Py_DECREF(step);
    }
    /* quoted = previous._quoted, or True when previous.may_quote and it quotes its payload */
    PyObject *flag = SLOT(previous, L_quoted);
    int truth = flag == NULL ? -1 : PyObject_IsTrue(flag);
    if (flag == NULL)
        PyErr_SetString(PyExc_AttributeError, "_quoted");
    if (truth >= 0 && !truth) {
        PyObject *may = PyObject_GetAttr((PyObject *)Py_TYPE(previous), s_may_quote);
        truth = may == NULL ? -1 : PyObject_IsTrue(may);
        Py_XDECREF(may);
        if (truth > 0) {
            PyObject *quotes = PyObject_CallMethodNoArgs(previous, s_quotes);
            truth = quotes == NULL ? -1 : PyObject_IsTrue(quotes);
            Py_XDECREF(quotes);
        }
    }
    if (truth < 0) {
        Py_CLEAR(*cls);
        Py_CLEAR(*note);
        return -1;
    }
    *quoted = truth;
    return 1;
}

/* Packet._grow: decode one more layer; None once the chain is complete. */
static PyObject *
grow(PyObject *module, PyObject *pkt)
{
    (void)module;
    if (Py_TYPE(pkt) != packet_type)
        return PyObject_CallOneArg(python_grow, pkt);
    PyObject *layers = SLOT(pkt, P_layers), *buf = SLOT(pkt, P_buf);
    if (layers == NULL || !PyList_CheckExact(layers) || buf == NULL || buf == Py_None
            || PyList_GET_SIZE(layers) >= max_layers || SLOT(pkt, P_first) == NULL)
        return PyObject_CallOneArg(python_grow, pkt);  /* the MAX_LAYERS rule lives there */
    Py_ssize_t count = PyList_GET_SIZE(layers), start, end;
    PyObject *cls, *note = NULL;
    int quoted = 0;
    if (count) {
        PyObject *previous = Py_NewRef(PyList_GET_ITEM(layers, count - 1));
        int found = next_step(previous, &cls, &start, &end, &note, &quoted);
        Py_DECREF(previous);
        if (found < 0)
            return NULL;
        if (found == 0)
            return PyObject_CallMethodNoArgs(pkt, s_finish_chain);
    } else {
        cls = Py_NewRef(SLOT(pkt, P_first));
        start = 0;
        end = PyObject_Length(buf);
        if (end < 0) {
            Py_DECREF(cls);
            return NULL;
        }
    }
    PyObject *layer = new_layer(pkt, cls, count, start, end, quoted);
    Py_DECREF(cls);
    if (layer != NULL && note != NULL) {
        int has_note = PyObject_IsTrue(note);
        PyObject *done = has_note > 0
            ? PyObject_CallFunctionObjArgs(mark_unsupported, layer, note, NULL) : NULL;
        if (has_note < 0 || (has_note > 0 && done == NULL))
            Py_CLEAR(layer);
        Py_XDECREF(done);
    }
    Py_XDECREF(note);
    if (layer != NULL && PyList_Append(layers, layer) < 0)
        Py_CLEAR(layer);
    return layer;
}

static int
packet_complete(PyObject *pkt, int *ok)
{
    PyObject *flag = SLOT(pkt, P_complete);
    if (flag == NULL) {
        *ok = 0;
        return 1;
    }
    return flag == Py_True ? 1 : (flag == Py_False ? 0 : PyObject_IsTrue(flag));
}

/* Packet.__getitem__(cls) for a parsed packet: the first layer of exactly *cls*, or None. */
static PyObject *
find(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "find(pkt, cls)");
        return NULL;
    }
    PyObject *pkt = args[0], *cls = args[1];
    if (Py_TYPE(pkt) != packet_type) {
        PyErr_SetString(PyExc_TypeError, "find needs a Packet");
        return NULL;
    }
    PyObject *layers = SLOT(pkt, P_layers);
    if (layers == NULL || !PyList_CheckExact(layers)) {
        PyErr_SetString(PyExc_TypeError, "the packet has no layer list");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(layers); i++) {
        PyObject *layer = PyList_GET_ITEM(layers, i);
        if ((PyObject *)Py_TYPE(layer) == cls)
            return Py_NewRef(layer);
    }
    for (;;) {
        int ok = 1;
        int complete = packet_complete(pkt, &ok);
        if (!ok) {
            PyErr_SetString(PyExc_AttributeError, "_complete");
            return NULL;
        }
        if (complete)
            break;
        PyObject *found = grow(module, pkt);
        if (found == NULL)
            return NULL;
        if ((PyObject *)Py_TYPE(found) == cls)
            return found;
        Py_DECREF(found);
    }
    Py_RETURN_NONE;
}

/* Layer.payload: the next layer up, or None. */
static PyObject *
payload(PyObject *module, PyObject *layer)
{
    if (!PyObject_TypeCheck(layer, layer_type)) {
        PyErr_SetString(PyExc_TypeError, "payload needs a Layer");
        return NULL;
    }
    PyObject *pkt = SLOT(layer, L_pkt);
    if (pkt == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_pkt");
        return NULL;
    }
    if (pkt == Py_None)
        Py_RETURN_NONE;
    int ok = 1;
    Py_ssize_t index = slot_int(layer, L_idx, &ok) + 1;
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "a layer without an index");
        return NULL;
    }
    PyObject *layers = SLOT(pkt, P_layers);
    if (Py_TYPE(pkt) != packet_type || layers == NULL || !PyList_CheckExact(layers))
        return PyObject_CallMethod(pkt, "_layer_at", "n", index);
    if (index > 0 && index < PyList_GET_SIZE(layers))
        return Py_NewRef(PyList_GET_ITEM(layers, index));
    if (index == PyList_GET_SIZE(layers)) {
        int complete = packet_complete(pkt, &ok);
        if (ok && !complete)
            return grow(module, pkt);
    }
    return PyObject_CallMethod(pkt, "_layer_at", "n", index);
}

/* parse(data, link=LinkType.ETHERNET, *, strict=False, wire_len=None): the common case of
 * packet.parse (a LinkType, tolerant, no wire length) in C; every other call goes to it. */
static PyObject *
parse(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    PyObject *link = nargs == 2 ? args[1] : default_link;
    if (python_parse == NULL || (nargs != 1 && nargs != 2)
            || (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) || link == NULL
            || Py_TYPE(link) != Py_TYPE(default_link))
        goto slow;
    PyObject *first = PyDict_GetItemWithError(link_classes, link);
    if (first == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto slow;
    }
    PyObject *layers = PyList_New(0);
    if (layers == NULL)
        return NULL;
    PyObject *pkt = packet_type->tp_alloc(packet_type, 0);
    if (pkt == NULL) {
        Py_DECREF(layers);
        return NULL;
    }
    SLOT(pkt, P_buf) = Py_NewRef(args[0]);
    SLOT(pkt, P_layers) = layers;
    SLOT(pkt, P_complete) = Py_NewRef(Py_False);
    SLOT(pkt, P_first) = Py_NewRef(first);
    SLOT(pkt, P_link) = Py_NewRef(link);
    SLOT(pkt, P_state) = PyLong_FromLong(0);
    if (SLOT(pkt, P_state) == NULL) {
        Py_DECREF(pkt);
        return NULL;
    }
    return pkt;
slow:
    if (python_parse == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "wirekit.packet._speedups is not configured");
        return NULL;
    }
    return PyObject_Vectorcall(python_parse, args, (size_t)nargs, kwnames);
}

/* -- configuration ------------------------------------------------------------------------- */

static int
slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *slot = PyDict_GetItemString(type->tp_dict, name);
    if (slot == NULL || Py_TYPE(slot) != &PyMemberDescr_Type
            || ((PyMemberDescrObject *)slot)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        return -1;
    }
    *offset = ((PyMemberDescrObject *)slot)->d_member->offset;
    return 0;
}

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"layer", "packet", "raw", "mark_unsupported", "python_grow",
                               "max_layers", "ether", "ethertypes", "ipv4", "protocols",
                               "python_parse", "ethernet", "link_classes", NULL};
    PyTypeObject *layer, *packet, *ether, *ipv4;
    PyObject *raw, *mark, *pygrow, *ethertypes, *protocols, *pyparse, *ethernet, *links;
    Py_ssize_t limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOOnO!O!O!O!OOO!:configure", keywords,
                                     &PyType_Type, &layer, &PyType_Type, &packet, &raw, &mark,
                                     &pygrow, &limit, &PyType_Type, &ether, &PyDict_Type,
                                     &ethertypes, &PyType_Type, &ipv4, &PyDict_Type, &protocols,
                                     &pyparse, &ethernet, &PyDict_Type, &links))
        return NULL;
    Py_ssize_t offsets[14];
    const char *layer_slots[] = {"_pkt", "_idx", "_off", "_end", "_h", "_hlen", "_quoted",
                                 "_status"};
    const char *packet_slots[] = {"_buf", "_layers", "_complete", "_first", "_link", "_state"};
    for (int i = 0; i < 8; i++)
        if (slot_offset(layer, layer_slots[i], &offsets[i]) < 0)
            return NULL;
    for (int i = 0; i < 6; i++)
        if (slot_offset(packet, packet_slots[i], &offsets[8 + i]) < 0)
            return NULL;
    for (int i = 0; i < 2; i++) {
        PyObject *may = PyObject_GetAttr((PyObject *)(i ? ipv4 : ether), s_may_quote);
        if (may == NULL)
            return NULL;
        int truth = PyObject_IsTrue(may);
        Py_DECREF(may);
        if (truth) {
            PyErr_SetString(PyExc_TypeError, "the fast rules assume Ether and IPv4 quote nothing");
            return NULL;
        }
    }
    L_pkt = offsets[0], L_idx = offsets[1], L_off = offsets[2], L_end = offsets[3];
    L_h = offsets[4], L_hlen = offsets[5], L_quoted = offsets[6], L_status = offsets[7];
    P_buf = offsets[8], P_layers = offsets[9], P_complete = offsets[10], P_first = offsets[11];
    P_link = offsets[12], P_state = offsets[13];
    Py_XSETREF(python_parse, Py_NewRef(pyparse));
    Py_XSETREF(default_link, Py_NewRef(ethernet));
    Py_XSETREF(link_classes, Py_NewRef(links));
    h_offset = L_h;
    Py_XSETREF(layer_type, (PyTypeObject *)Py_NewRef(layer));
    Py_XSETREF(packet_type, (PyTypeObject *)Py_NewRef(packet));
    Py_XSETREF(ether_type, (PyTypeObject *)Py_NewRef(ether));
    Py_XSETREF(ipv4_type, (PyTypeObject *)Py_NewRef(ipv4));
    Py_XSETREF(raw_type, Py_NewRef(raw));
    Py_XSETREF(mark_unsupported, Py_NewRef(mark));
    Py_XSETREF(python_grow, Py_NewRef(pygrow));
    Py_XSETREF(ethertype_classes, Py_NewRef(ethertypes));
    Py_XSETREF(protocol_classes, Py_NewRef(protocols));
    max_layers = limit;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, layer, packet, raw, mark_unsupported, python_grow, max_layers, ether, "
     "ethertypes, ipv4, protocols, python_parse, ethernet, link_classes)\n--\n\n"
     "Tell the C walk where the slots and registries are."},
    {"parse", (PyCFunction)(void (*)(void))parse, METH_FASTCALL | METH_KEYWORDS,
     "parse(data, link=LinkType.ETHERNET, *, strict=False, wire_len=None) -> Packet\n\n"
     "Decode *data* (bytes, bytearray, memoryview) lazily, starting at the *link* layer\n"
     "(a LinkType, its number or name, or a layer class).  With *strict*, every layer is\n"
     "decoded now and the first bad one raises DecodeError.  *wire_len* is the length on\n"
     "the wire of a packet the capture cut.  (The common case runs in C; the reference is\n"
     "wirekit.packet.packet.parse_python.)"},
    {"grow", grow, METH_O, "grow(pkt)\n--\n\nPacket._grow in C."},
    {"find", (PyCFunction)(void (*)(void))find, METH_FASTCALL,
     "find(pkt, cls)\n--\n\nThe first layer of exactly *cls* in a parsed packet, or None."},
    {"payload", payload, METH_O, "payload(layer)\n--\n\nLayer.payload in C."},
    {"ipv4_text", ipv4_text, METH_O,
     "ipv4_text(raw)\n--\n\nThe dotted quad of a 4-byte IPv4 address."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "wirekit.packet._speedups",
    "C versions of the codec's hottest small functions (optional).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&GetterType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    s_struct = PyUnicode_InternFromString("_struct");
    s_unpack_from = PyUnicode_InternFromString("unpack_from");
    s_next = PyUnicode_InternFromString("_next");
    s_finish_chain = PyUnicode_InternFromString("_finish_chain");
    s_quotes = PyUnicode_InternFromString("_quotes_payload");
    s_may_quote = PyUnicode_InternFromString("may_quote");
    if (!s_struct || !s_unpack_from || !s_next || !s_finish_chain || !s_quotes
            || !s_may_quote) {
        Py_DECREF(module);
        return NULL;
    }
    struct_cache = PyDict_New();
    if (struct_cache == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Getter", (PyObject *)&GetterType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
