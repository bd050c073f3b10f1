#!/usr/bin/env python3
"""Reference side of Harrier's differential EQL test (crates/eql/tests/differential.rs).

Reads a request (JSON on stdin): a seed, a number of events per query and a list
of queries, each with the mapping type of every field it reads (Harrier's ECS
schema is the mapping, as an Elasticsearch index would have one). For every
query it generates random ECS events from the literals the query mentions and
near-misses of them, runs the query through the PyPI `eql` package (the Endgame
reference implementation) and writes, as JSON on stdout, the events and what
the reference matched, or why the query was left out.

`eql` implements the generic EQL dialect. Where Elasticsearch differs, this
script translates the query or normalises the data before `eql` sees it; every
such step is listed in DIALECT below and in crates/eql/tests/differential/README.md.
"""
import copy
import ipaddress
import itertools
import json
import random
import re
import string
import sys

import eql
import eql.ast as A
import eql.functions as F
import eql.utils
from eql.engine import PythonEngine
from eql.parser import (LarkToEQL, allow_negation, allow_runs, allow_sample, elasticsearch_syntax,
                        ignore_missing_functions)

# Elasticsearch has no global case switch: `==`, `!=`, `in`, `like`, `regex` and
# plain functions are case-sensitive, `:` and the `~` forms are not. `eql` has one
# process-wide switch; it stays on "sensitive" and the insensitive operators are
# kept apart by the parser hooks below.
eql.utils.CASE_INSENSITIVE = False


class _Insensitive:
    """Runs `eql` code with its global case switch on."""

    def __enter__(self):
        eql.utils.CASE_INSENSITIVE = True

    def __exit__(self, *exc):
        eql.utils.CASE_INSENSITIVE = False


def _es_wildcard_regex(pattern, insensitive):
    # Elasticsearch's `:` and `like` know `*` (any run) and `?` (one character);
    # eql's wildcard() knows only `*`. Everything else is literal (no escapes).
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
    return re.compile("".join(out), flags)


def _make_wildcard(name, insensitive):
    class EsWildcard(F.Wildcard):
        @classmethod
        def get_callback(cls, source_ast, *literals):
            compiled = [_es_wildcard_regex(lit.value, insensitive) for lit in literals]

            def callback(source, *_):
                if eql.utils.is_string(source):
                    return any(c.fullmatch(source) for c in compiled)

            return callback

    EsWildcard.name = name
    return F.register(EsWildcard)


def _make_regex(name, insensitive):
    class EsRegex(F.Match):
        @classmethod
        def get_callback(cls, source_ast, *literals):
            flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
            compiled = [re.compile(lit.value, flags) for lit in literals]

            def callback(source, *_):
                if eql.utils.is_string(source):
                    # Lucene regular expressions match the whole value
                    return any(c.fullmatch(source) for c in compiled)

            return callback

        @classmethod
        def validate(cls, arguments):
            pos = super(EsRegex, cls).validate(arguments)
            if pos is not None:
                return pos
            for pos, arg in enumerate(arguments[1:], 1):
                if LUCENE_ONLY.search(arg.node.value):
                    return pos

    EsRegex.name = name
    return F.register(EsRegex)


# Lucene regular-expression operators Python's `re` reads differently (or not at all)
LUCENE_ONLY = re.compile(r'[~#@&<>"^$]|\\[dDsSwWbBAZ]|\(\?')


def _make_insensitive_twin(base):
    class Twin(base):
        @classmethod
        def run(cls, *args):
            with _Insensitive():
                return base.run(*args)

    Twin.name = base.name + "~"
    return F.register(Twin)


_make_wildcard("esWildcard", False)
_make_wildcard("esWildcard~", True)
_make_regex("esRegex", False)
_make_regex("esRegex~", True)
for _f in (F.Between, F.EndsWith, F.IndexOf, F.StartsWith, F.StringContains):
    _make_insensitive_twin(_f)


class EsInInsensitive(F.FunctionSignature):
    """`x in~ (...)`: case-insensitive set membership, no wildcards."""

    name = "esIn~"
    argument_types = [eql.types.TypeHint.primitives()]
    additional_types = eql.types.TypeHint.primitives()
    return_value = eql.types.TypeHint.Boolean

    @classmethod
    def run(cls, value, *items):
        if value is None:
            return None
        with _Insensitive():
            return any(eql.utils.fold_case(value) == eql.utils.fold_case(i) for i in items)


F.register(EsInInsensitive)


def ip_key(text):
    """An address as Elasticsearch's `ip` field stores it: 16 bytes, IPv4 as
    IPv4-mapped IPv6, so `127.0.0.1` and `::ffff:127.0.0.1` are one value."""
    addr = ipaddress.ip_address(text.strip())
    if addr.version == 4:
        return int(addr) | 0xFFFF00000000
    return int(addr)


def ip_net(text):
    """A constant of cidrMatch as an (address, prefix) pair over the 128-bit
    space (an IPv4 prefix grows by 96), or a single address."""
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        shift = 96 if net.version == 4 else 0
        return ip_key(str(net.network_address)), net.prefixlen + shift
    return ip_key(text), 128


def ip_in(key, net):
    base, prefix = net
    mask = ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
    return key & mask == base & mask


def canonical_ip(text):
    """How doc values (and the fields API) print an ip: IPv4 dotted,
    IPv6 compressed lowercase."""
    key = ip_key(text)
    if key >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(key & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(key))


class EsCidrMatch(F.FunctionSignature):
    """Elasticsearch's cidrMatch: a terms query on the ip field whose constants
    are addresses or CIDR blocks, IPv4 and IPv6 alike (eql's accepts IPv4 CIDR
    blocks only)."""

    name = "cidrMatch"
    argument_types = [eql.types.TypeHint.String, eql.types.TypeHint.String.require_literal()]
    additional_types = eql.types.TypeHint.String.require_literal()
    return_value = eql.types.TypeHint.Boolean

    @classmethod
    def get_callback(cls, _, *cidrs):
        nets = [ip_net(c.value) for c in cidrs]

        def callback(source, *_):
            if source is None:
                return None
            if eql.utils.is_string(source):
                key = ip_key(source)
                return any(ip_in(key, n) for n in nets)
            return False

        return callback

    @classmethod
    def run(cls, source, *cidrs):
        if source is None:
            return None
        key = ip_key(source)
        return any(ip_in(key, ip_net(c)) for c in cidrs)

    @classmethod
    def validate(cls, arguments):
        pos = super(EsCidrMatch, cls).validate(arguments)
        if pos is not None:
            return pos
        for pos, arg in enumerate(arguments[1:], 1):
            try:
                ip_net(arg.node.value)
            except ValueError:
                return pos
        return None


# replaces eql's (IPv4-only) cidrMatch
F._registry["cidrMatch"] = EsCidrMatch

_orig_string_predicate = LarkToEQL.string_predicate
_orig_in_set = LarkToEQL.in_set
_orig_function_call = LarkToEQL.function_call


def _string_predicate(self, node):
    info = _orig_string_predicate(self, node)
    op = str(node["STRING_PREDICATE"])
    insensitive = op == ":" or op.endswith("~")
    base = "esWildcard" if info.node.name == "wildcard" else "esRegex"
    info.node = A.FunctionCall(base + ("~" if insensitive else ""), info.node.arguments)
    return info


def _in_set(self, node):
    info = _orig_in_set(self, node)
    if str(node.get("IN")) == "in~":
        term = info.node
        info.node = A.FunctionCall("esIn~", [term.expression] + list(term.container))
    return info


_TILDE_CALL = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*~\s*\(")


class _CaseInsensitiveNames(dict):
    """Elasticsearch reads function names case-insensitively (`cidrmatch`, `endswith~`)."""

    def get(self, name, default=None):
        if name in self:
            return self[name]
        for k, v in self.items():
            if k.lower() == str(name).lower():
                return v
        return default


def _canonical(name):
    for k in F.list_functions():
        if k.lower() == name.lower():
            return k
    return name


def _function_call(self, node, *args, **kwargs):
    if not isinstance(self._function_lookup, _CaseInsensitiveNames):
        self._function_lookup = _CaseInsensitiveNames(self._function_lookup)
    info = _orig_function_call(self, node, *args, **kwargs)
    text = self.text[node.meta.start_pos:node.meta.end_pos]
    if isinstance(info.node, A.FunctionCall):
        name = _canonical(info.node.name)
        if _TILDE_CALL.match(text):
            name += "~"
        info.node = A.FunctionCall(name, info.node.arguments)
    return info


def _dotted(orig):
    # Elasticsearch reads a backtick-quoted name with dots as a dotted path
    # (`a.b/c` is c/... under b under a); eql keeps it as one key
    def hook(self, node):
        info = orig(self, node)
        f = info.node
        if isinstance(f, A.Field) and "." in f.base:
            parts = f.base.split(".")
            info.node = A.Field(parts[0], parts[1:] + list(f.path))
        return info

    return hook


LarkToEQL.field = _dotted(LarkToEQL.field)
LarkToEQL.base_field = _dotted(LarkToEQL.base_field)
LarkToEQL.string_predicate = _string_predicate
LarkToEQL.in_set = _in_set
LarkToEQL.function_call = _function_call


def parse(text):
    with elasticsearch_syntax, ignore_missing_functions, allow_sample, allow_runs, allow_negation:
        return eql.parse_query(text)


# ---------------------------------------------------------------- evaluation
#
# Elasticsearch turns a predicate of a field against constants into a Lucene
# query: any value of a multi-valued field may match, an absent field matches
# nothing, and `!=`, `not` around such a predicate are `must_not` (so they match
# absent fields); `not` around a range comparison flips the comparison. Other
# expressions run as scripts that read a multi-valued field as its smallest
# value, with three-valued logic. `eql` knows one value per field and
# three-valued logic everywhere, so the leaves are evaluated by `eql` itself,
# once per value, and this layer combines them the way Elasticsearch does.

NULL_SAFE = {"stringContains", "stringContains~", "cidrMatch", "startsWith", "startsWith~", "endsWith",
             "endsWith~", "between", "between~", "indexOf", "indexOf~", "length", "number", "concat"}
# Elasticsearch's EQL QueryTranslator turns these, with a field first and constants
# after, into Lucene queries: startsWith into a prefix query, stringContains and
# endsWith into wildcard queries (`*s*`, `*s`), cidrMatch into a terms query on
# the ip field. Other functions run as scripts.
LUCENE_FUNCS = {"esWildcard", "esWildcard~", "esRegex", "esRegex~", "esIn~", "startsWith", "startsWith~",
                "stringContains", "stringContains~", "endsWith", "endsWith~", "cidrMatch"}
RANGE_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def is_lit(n):
    return isinstance(n, (A.String, A.Number, A.Boolean))


def field_name(f):
    return ".".join([f.base] + [str(p) for p in f.path])


def lucene_leaf(n):
    """The field of a leaf Elasticsearch runs as a Lucene query, else None."""
    if isinstance(n, A.Comparison):
        if isinstance(n.left, A.Field) and is_lit(n.right):
            return n.left
        return None
    if isinstance(n, A.InSet):
        if isinstance(n.expression, A.Field) and all(is_lit(i) for i in n.container):
            return n.expression
        return None
    if isinstance(n, A.FunctionCall) and n.name in LUCENE_FUNCS:
        if n.arguments and isinstance(n.arguments[0], A.Field) and all(is_lit(a) for a in n.arguments[1:]):
            return n.arguments[0]
        return None
    if isinstance(n, (A.IsNull, A.IsNotNull)) and isinstance(n.expr, A.Field):
        return n.expr
    if isinstance(n, A.Field):
        return n
    return None


def is_script(n):
    if isinstance(n, (A.And, A.Or, A.Literal)):
        return False
    if isinstance(n, A.Not):
        return is_script(n.term)
    return lucene_leaf(n) is None


def normalise(n):
    """Literals to the right of comparisons, as Elasticsearch's optimizer puts them."""
    if isinstance(n, A.Comparison) and is_lit(n.left) and not is_lit(n.right):
        return A.Comparison(normalise(n.right), MIRROR[n.comparator], n.left)
    if isinstance(n, A.Comparison):
        return A.Comparison(normalise(n.left), n.comparator, normalise(n.right))
    if isinstance(n, (A.And, A.Or)):
        return type(n)([normalise(t) for t in n.terms])
    if isinstance(n, A.Not):
        return A.Not(normalise(n.term))
    return n


def get_path(doc, path):
    v = doc
    for k in path:
        if not isinstance(v, dict) or k not in v:
            return None, False
        v = v[k]
    return v, True


def values_of(doc, path):
    v, present = get_path(doc, path)
    if not present or v is None:
        return []
    if isinstance(v, list):
        return [x for x in v if x is not None]
    return [v]


def with_value(doc, path, value):
    out = copy.deepcopy(doc)
    d = out
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value
    return out


class Evaluator:
    def __init__(self, engine):
        self.engine = engine
        self.cache = {}

    def script(self, n):
        key = ("s", id(n))
        if key not in self.cache:
            self.cache[key] = (n, self.engine.convert(n, scoped=True))
        return self.cache[key][1]

    def leaf_any(self, n, field, ev):
        """A Lucene leaf: does any value of the field satisfy it?"""
        path = [field.base] + list(field.path)
        vals = values_of(ev.data, path)
        if isinstance(n, (A.IsNull, A.IsNotNull)):
            return (len(vals) == 0) == isinstance(n, A.IsNull)
        if isinstance(n, A.Comparison) and n.comparator == "!=":
            key = ("eq", id(n))
            if key not in self.cache:
                self.cache[key] = (n, A.Comparison(n.left, "==", n.right))
            eq = self.cache[key][1]
            return not any(self.script(eq)(self._single(ev, path, v)) for v in vals)
        if isinstance(n, A.Field):
            return any(v is True for v in vals)
        cb = self.script(n)
        return any(bool(cb(self._single(ev, path, v))) for v in vals)

    @staticmethod
    def _single(ev, path, v):
        return eql.Event(ev.type, ev.time, with_value(ev.data, path, v))

    def query(self, n, ev):
        """Query context: True or False."""
        if isinstance(n, A.Boolean):
            return n.value
        if isinstance(n, A.And):
            return all(self.query(t, ev) for t in n.terms)
        if isinstance(n, A.Or):
            return any(self.query(t, ev) for t in n.terms)
        if isinstance(n, A.Not):
            inner = n.term
            if is_script(inner):
                return self.script_any(n, ev)
            if isinstance(inner, A.Comparison) and inner.comparator in RANGE_FLIP and lucene_leaf(inner):
                key = ("flip", id(inner))
                if key not in self.cache:
                    self.cache[key] = (inner, A.Comparison(inner.left, RANGE_FLIP[inner.comparator], inner.right))
                return self.leaf_any(self.cache[key][1], inner.left, ev)
            return not self.query(inner, ev)
        field = lucene_leaf(n)
        if field is not None:
            return self.leaf_any(n, field, ev)
        return self.script_any(n, ev)

    def script_any(self, n, ev):
        """A script filter: Elasticsearch's MultiValueAwareScriptQuery lets every
        occurrence of a field range over the field's values (a missing field is
        one null) and matches when any combination makes the script true."""
        key = ("any", id(n))
        if key not in self.cache:
            occurrences = []
            rewritten = with_occurrences(n, occurrences)
            self.cache[key] = (n, occurrences, self.engine.convert(rewritten, scoped=True))
        _, occurrences, cb = self.cache[key]
        choices = [values_of(ev.data, path) or [None] for path in occurrences]
        combos = 1
        for c in choices:
            combos *= len(c)
        if combos > 4096:
            # as Harrier does past that many combinations: the smallest values
            choices = [[script_view(c)] if len(c) > 1 else c for c in choices]
        for combo in itertools.product(*choices):
            data = dict(ev.data)
            for i, v in enumerate(combo):
                data["__occ%d" % i] = v
            if cb(eql.Event(ev.type, ev.time, data)) is True:
                return True
        return False


def with_occurrences(n, occurrences):
    """A copy of the expression whose every field occurrence reads its own slot."""
    if isinstance(n, A.Field):
        occurrences.append([n.base] + list(n.path))
        return A.Field("__occ%d" % (len(occurrences) - 1))
    if isinstance(n, A.Comparison):
        return A.Comparison(with_occurrences(n.left, occurrences), n.comparator,
                            with_occurrences(n.right, occurrences))
    if isinstance(n, A.InSet):
        return A.InSet(with_occurrences(n.expression, occurrences),
                       [with_occurrences(i, occurrences) for i in n.container])
    if isinstance(n, A.FunctionCall):
        return A.FunctionCall(n.name, [with_occurrences(a, occurrences) for a in n.arguments], n.as_method)
    if isinstance(n, A.MathOperation):
        return A.MathOperation(with_occurrences(n.left, occurrences), n.operator,
                               with_occurrences(n.right, occurrences))
    if isinstance(n, A.Not):
        return A.Not(with_occurrences(n.term, occurrences))
    if isinstance(n, (A.And, A.Or)):
        return type(n)([with_occurrences(t, occurrences) for t in n.terms])
    if isinstance(n, A.IsNull):
        return A.IsNull(with_occurrences(n.expr, occurrences))
    if isinstance(n, A.IsNotNull):
        return A.IsNotNull(with_occurrences(n.expr, occurrences))
    return n


def script_view(data):
    """Every multi-valued field read as its smallest value (doc values are sorted)."""
    if isinstance(data, dict):
        return {k: script_view(v) for k, v in data.items()}
    if isinstance(data, list):
        vals = [script_view(x) for x in data if x is not None]
        if not vals:
            return None
        try:
            return min(vals)
        except TypeError:
            return vals[0]
    return data


class EsEngine(PythonEngine):
    """eql's engine with Elasticsearch's predicate contexts and exact maxspan."""

    def __init__(self, flatten):
        super().__init__({"flatten": flatten})
        self.evaluator = Evaluator(self)

    def _convert_function_call(self, node):
        # Elasticsearch's functions return null for a null argument; some of
        # eql's return false instead (stringContains, cidrMatch)
        inner = super()._convert_function_call(node)
        if node.name in NULL_SAFE:
            get_args = self._convert_tuple(node.arguments)

            def call(scope):
                if any(a is None for a in get_args(scope)):
                    return None
                return inner(scope)

            return call
        if node.name == "substring":
            # Elasticsearch: null source gives null, a null start the whole
            # source, a null end the rest of it
            get_args = self._convert_tuple(node.arguments)

            def sub(scope):
                args = list(get_args(scope)) + [None, None]
                if args[0] is None or args[1] is None:
                    return args[0]
                return inner(scope)

            return sub
        return inner

    def _convert_sequence(self, node, next_pipe):
        # Elasticsearch tests an until event when a later event would extend a
        # partial sequence: it rejects the extension when the nearest until
        # event before that event lies at or after the partial's last event
        # (SequenceMatcher, Ordinal.between is inclusive). So an event that is
        # both a step and an until event still starts, extends and completes
        # sequences, and then ends every open one of its key, those it just
        # started or extended included. eql ends them first, before the steps
        # see the event; here the steps run first.
        close = node.close
        if close is None:
            return super()._convert_sequence(node, next_pipe)
        lookups = []
        orig_term = self._convert_sequence_term

        def capture(query, pos, size, lookup_list, nxt):
            lookups.append(lookup_list)
            return orig_term(query, pos, size, lookup_list, nxt)

        self._convert_sequence_term = capture
        node.close = None
        try:
            out = super()._convert_sequence(node, next_pipe)
        finally:
            node.close = close
            del self._convert_sequence_term
        check = self.convert(close.query)
        get_key = self._convert_key(close.join_values, scoped=True)

        @self.event_callback(close.query.event_type)
        def close_sequences(event):
            if check(event):
                key = get_key(event)
                for sub_lookup in lookups[0]:
                    sub_lookup.pop(key, None)

        return out

    def convert_time_range(self, node):
        # eql truncates maxspan to whole seconds; Elasticsearch keeps milliseconds
        return node.as_milliseconds()

    def _convert_event_query(self, node):
        expr = normalise(node.query)
        expected = node.event_type
        ev_ = self.evaluator

        def check(event):
            if expected != "any" and event.type != expected:
                return False
            return ev_.query(expr, event)

        return check


# ---------------------------------------------------------------- generation

ALPHA = string.ascii_letters + string.digits


def rand_word(rng, n=None):
    n = rng.randint(0, 6) if n is None else n
    return "".join(rng.choice(ALPHA + "\\.-_ ") for _ in range(n))


def swap_case(rng, s):
    return "".join(c.swapcase() if rng.random() < 0.5 else c for c in s)


def instantiate(rng, pattern, wildcard):
    if not wildcard:
        return pattern
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(rand_word(rng, rng.choice([0, 0, 1, 3])))
        elif ch == "?":
            out.append(rng.choice(ALPHA))
        else:
            out.append(ch)
    return "".join(out)


def near_misses(rng, s):
    out = [swap_case(rng, s), s.upper(), s.lower()]
    if s:
        out += [s[:-1], s[1:], s + rng.choice(ALPHA), rng.choice(ALPHA) + s, s.replace("\\", "/")]
    out += ["", " " + s]
    return out


class Literals:
    """The literal values a query mentions, per field."""

    def __init__(self):
        self.by_field = {}

    def add(self, field, value, kind):
        self.by_field.setdefault(field, []).append((value, kind))

    def walk(self, n):
        if isinstance(n, A.Comparison):
            f, lit = (n.left, n.right) if isinstance(n.left, A.Field) else (n.right, n.left)
            if isinstance(f, A.Field) and is_lit(lit):
                self.add(field_name(f), lit.value, "exact")
        elif isinstance(n, A.InSet):
            if isinstance(n.expression, A.Field):
                for i in n.container:
                    if is_lit(i):
                        self.add(field_name(n.expression), i.value, "exact")
        elif isinstance(n, A.FunctionCall) and n.arguments and isinstance(n.arguments[0], A.Field):
            name = field_name(n.arguments[0])
            kind = {"esWildcard": "wildcard", "esWildcard~": "wildcard", "startsWith": "prefix",
                    "startsWith~": "prefix", "endsWith": "suffix", "endsWith~": "suffix",
                    "stringContains": "infix", "stringContains~": "infix"}.get(n.name, "exact")
            for a in n.arguments[1:]:
                if is_lit(a):
                    self.add(name, a.value, kind)
        for child in children(n):
            self.walk(child)


def children(n):
    if isinstance(n, (A.And, A.Or)):
        return list(n.terms)
    if isinstance(n, A.Not):
        return [n.term]
    if isinstance(n, A.Comparison):
        return [n.left, n.right]
    if isinstance(n, A.InSet):
        return [n.expression] + list(n.container)
    if isinstance(n, A.FunctionCall):
        return list(n.arguments)
    if isinstance(n, A.MathOperation):
        return [n.left, n.right]
    if isinstance(n, (A.IsNull, A.IsNotNull)):
        return [n.expr]
    return []


def fields_in(n, out):
    if isinstance(n, A.Field):
        out.add(field_name(n))
    for c in children(n):
        fields_in(c, out)


def value_for(rng, ftype, lits, pool):
    """One value of a field, as a document would carry it."""
    r = rng.random()
    if lits and r < 0.55:
        value, kind = rng.choice(lits)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            v = rng.choice([value, value, value + 1, value - 1])
            return str(v) if rng.random() < 0.25 else v
        s = instantiate(rng, value, kind == "wildcard")
        if kind == "prefix":
            s = s + rand_word(rng)
        elif kind == "suffix":
            s = rand_word(rng) + s
        elif kind == "infix":
            s = rand_word(rng) + s + rand_word(rng)
        if rng.random() < 0.35:
            s = rng.choice(near_misses(rng, s))
        return s
    if ftype in ("long", "integer", "short", "byte", "double", "float"):
        return rng.choice([0, 1, 4, 7, 4624, -1, "3"])
    if ftype == "boolean":
        return rng.choice([True, False, "true"])
    if ftype == "ip":
        return rng.choice(IP_POOL)
    if pool and r < 0.8:
        return rng.choice(pool)
    return rand_word(rng, rng.randint(1, 10))


IP_POOL = ["10.0.0.1", "127.0.0.1", "192.168.1.10", "::1", "8.8.8.8", "::ffff:127.0.0.1", "fe80::1", "0.0.0.0",
           "::", "169.254.169.254", "FE80:0:0:0:0:0:0:1"]
# join keys over an ip field: one address spelled two ways, and another
IP_KEYS = ["10.0.0.1", "::ffff:10.0.0.1", "10.0.0.2"]


def spell_ip(rng, key):
    """One of the spellings Elasticsearch reads as this address."""
    if key >> 32 == 0xFFFF:
        v4 = str(ipaddress.IPv4Address(key & 0xFFFFFFFF))
        return "::ffff:" + v4 if rng.random() < 0.2 else v4
    v6 = ipaddress.IPv6Address(key)
    r = rng.random()
    return v6.exploded if r < 0.1 else str(v6).upper() if r < 0.2 else str(v6)


def ip_near(rng, text):
    """An address in, or just outside, an address or CIDR block a query names."""
    try:
        base, prefix = ip_net(text)
    except ValueError:
        return rng.choice(IP_POOL)
    size = 128 - prefix
    lo = base & (((1 << 128) - 1) ^ ((1 << size) - 1))
    r = rng.random()
    if r < 0.6:
        key = lo | rng.getrandbits(size) if size else lo
    elif r < 0.8:
        key = max(lo - 1, 0)
    else:
        key = min(lo + (1 << size), (1 << 128) - 1)
    return spell_ip(rng, key)


def ip_value(rng, v):
    """A value an ip field can hold (Elasticsearch rejects a document with a
    malformed address): valid ones respelled, others replaced by an address
    in or near the block they name, or from the pool."""
    if v is None:
        return None
    if isinstance(v, list):
        return [ip_value(rng, x) for x in v]
    if isinstance(v, str):
        try:
            return spell_ip(rng, ip_key(v))
        except ValueError:
            return ip_near(rng, v)
    return rng.choice(IP_POOL)


def coerce(v, ftype):
    """The value as Elasticsearch indexes it under the field's mapping type (doc values)."""
    if v is None:
        return None
    if isinstance(v, list):
        return [coerce(x, ftype) for x in v]
    if ftype == "ip":
        return canonical_ip(v)
    if ftype in ("long", "integer", "short", "byte"):
        if isinstance(v, bool):
            return None
        if isinstance(v, str):
            try:
                return int(v)
            except ValueError:
                return None
        return int(v)
    if ftype in ("double", "float"):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    if ftype == "boolean":
        return v if isinstance(v, bool) else v == "true"
    if ftype in ("keyword", "wildcard", "unknown", "text"):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(v)
        return str(v) if not isinstance(v, str) else v
    return v


def set_path(doc, path, value):
    d = doc
    for k in path[:-1]:
        nxt = d.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            d[k] = nxt
        d = nxt
    d[path[-1]] = value


def coerce_doc(doc, types, prefix=""):
    out = {}
    for k, v in doc.items():
        name = prefix + k
        if isinstance(v, dict):
            out[k] = coerce_doc(v, types, name + ".")
        else:
            out[k] = coerce(v, types.get(name, "keyword"))
    return out


def leaf_target(rng, n, want):
    """For a leaf over one field: (field, value) that satisfies it (want) or not."""
    if isinstance(n, (A.IsNull, A.IsNotNull)) and isinstance(n.expr, A.Field):
        present = isinstance(n, A.IsNotNull) == want
        return field_name(n.expr), ("present" if present else "absent")
    if isinstance(n, A.Comparison):
        f, lit, op = n.left, n.right, n.comparator
        if isinstance(lit, A.Field) and is_lit(f):
            f, lit, op = lit, f, MIRROR[op]
        if not (isinstance(f, A.Field) and is_lit(lit)):
            return None
        v = lit.value
        if op == "!=":
            want = not want
        elif op in RANGE_FLIP and isinstance(v, (int, float)) and not isinstance(v, bool):
            above = op in (">", ">=")
            return field_name(f), (v + 1 if above == want else v - 1)
        return field_name(f), (v if want else "avoid")
    if isinstance(n, A.InSet) and isinstance(n.expression, A.Field):
        lits = [i.value for i in n.container if is_lit(i)]
        return (field_name(n.expression), rng.choice(lits) if want and lits else "avoid")
    if isinstance(n, A.FunctionCall) and n.arguments and isinstance(n.arguments[0], A.Field):
        lits = [a.value for a in n.arguments[1:] if is_lit(a) and isinstance(a.value, str)]
        if not lits or not want:
            return (field_name(n.arguments[0]), "avoid") if not want else None
        lit = rng.choice(lits)
        base = n.name.rstrip("~")
        if base == "esWildcard":
            if n.name.endswith("~") and rng.random() < 0.3:
                lit = swap_case(rng, lit)
            return field_name(n.arguments[0]), instantiate(rng, lit, True)
        if base in ("startsWith", "endsWith", "stringContains"):
            pre = rand_word(rng) if base != "startsWith" else ""
            post = rand_word(rng) if base != "endsWith" else ""
            return field_name(n.arguments[0]), pre + lit + post
        if base == "esIn":
            return field_name(n.arguments[0]), swap_case(rng, lit)
    return None


def satisfy(rng, n, want, assign):
    """Values that make the expression true (want) or false: a rough guide, not a solver."""
    if isinstance(n, A.Not):
        return satisfy(rng, n.term, not want, assign)
    if isinstance(n, (A.And, A.Or)):
        every = isinstance(n, A.And) == want
        terms = list(n.terms) if every else [rng.choice(n.terms)]
        for t in terms:
            satisfy(rng, t, want, assign)
        return
    target = leaf_target(rng, n, want)
    if target is not None:
        assign[target[0]] = target[1]


def generate(rng, plan, n_events):
    """Documents for one query, in time order: a third guided towards matching
    each step, a third guided and then spoilt in one field, a third random."""
    lits, key_fields, categories, fields = plan["literals"], plan["keys"], plan["categories"], plan["fields"]
    types, steps = plan["types"], plan["steps"]
    pool = [v for vs in lits.by_field.values() for v, _ in vs if isinstance(v, str)]
    docs = []
    t = 1_700_000_000_000
    for i in range(n_events):
        t += rng.choice([0, 1, 5, 250, 1000, 30_000, 400_000])
        mode = rng.random()
        assign = {}
        step = steps[i % len(steps)] if steps else None
        if mode < 0.66 and step is not None:
            satisfy(rng, step.query, True, assign)
            cat = step.event_type if step.event_type != "any" else rng.choice(categories)
            if mode >= 0.33 and assign:
                f = rng.choice(sorted(assign))
                v = assign[f]
                assign[f] = rng.choice(near_misses(rng, v)) if isinstance(v, str) and v not in (
                    "avoid", "present", "absent") else "absent"
        else:
            cat = rng.choice(categories + ["process", "network", "file"]) if rng.random() < 0.9 else None
        doc = {"@timestamp": iso(t)}
        if cat is not None:
            doc["event"] = {"category": cat}
        for f in fields:
            if f in ("@timestamp", "event.category"):
                continue
            path = f.split(".")
            ftype = types.get(f, "keyword")
            flits = lits.by_field.get(f, [])
            r = rng.random()
            if f in assign and assign[f] != "present":
                val = assign[f]
                if val == "absent":
                    continue
                if val == "avoid":
                    val = rand_word(rng, rng.randint(1, 8)) if ftype == "keyword" else rng.choice([0, 3, 99])
                elif r < 0.15 and f not in key_fields:
                    val = [val, value_for(rng, ftype, flits, pool)]
                    rng.shuffle(val)
            elif f in key_fields:
                val = (rng.choice(IP_KEYS) if ftype == "ip" else rng.choice([1, 2]) if ftype in ("long", "integer")
                       else rng.choice(["k1", "k2", "K1"]))
                if r < 0.05:
                    continue
            elif r < 0.12 and f not in assign:
                continue  # missing
            elif r < 0.16:
                val = None
            elif r < 0.28:
                val = [value_for(rng, ftype, flits, pool) for _ in range(rng.randint(0, 3))]
            else:
                val = value_for(rng, ftype, flits, pool)
            if ftype == "ip":
                val = ip_value(rng, val)
            try:
                set_path(doc, path, val)
            except (TypeError, AttributeError):
                pass
        docs.append(doc)
    return docs


def iso(ms):
    import datetime
    dt = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def plan_query(q, types):
    lits = Literals()
    fields = set()
    keys = set()
    categories = []
    first = q.first
    subs = []
    if isinstance(first, A.EventQuery):
        subs = [first]
    elif isinstance(first, (A.Sequence, A.Sample)):
        subs = [s.query for s in first.queries]
        if getattr(first, "close", None) is not None:
            subs.append(first.close.query)
        for s in list(first.queries) + ([first.close] if getattr(first, "close", None) else []):
            for jv in s.join_values:
                fields_in(jv, keys)
    for s in subs:
        lits.walk(s.query)
        fields_in(s.query, fields)
        if s.event_type != "any":
            categories.append(s.event_type)
    fields |= keys
    return {"literals": lits, "keys": keys, "categories": categories or ["process"],
            "fields": sorted(fields), "types": types,
            "steps": [s for s in subs if not (getattr(first, "close", None) is not None and s is first.close.query)]}


def exclusion(q, text, types):
    first = q.first
    if isinstance(first, A.Sample):
        return "sample: eql lets one event fill several steps and emits every sample of a key"
    if isinstance(first, A.Sequence):
        for s in first.queries:
            if s.params.kv.get("is_negated") and s.params.kv["is_negated"].value:
                return "missing-event steps: eql has no placeholders and checks them differently"
        for s in list(first.queries) + ([first.close] if first.close else []):
            for jv in s.join_values:
                if not isinstance(jv, A.Field):
                    return "join key is an expression"
    if any(t not in ("keyword", "long", "integer", "double", "float", "boolean", "unknown", "wildcard", "text", "ip")
           for f, t in types.items() if f != "@timestamp"):
        return "reads a date or version field: eql compares them as strings"
    if q.pipes:
        return "pipes"
    return None


def run_query(text, types, rng, n_events):
    try:
        q = parse(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a documented exclusion
        lines = str(exc).splitlines()
        why = lines[1].strip() if len(lines) > 1 else type(exc).__name__
        return {"status": "excluded", "reason": "eql rejects the query: " + why}
    reason = exclusion(q, text, types)
    if reason:
        return {"status": "excluded", "reason": reason}
    plan = plan_query(q, types)
    # prefix conflicts (a field that is also an object) cannot be generated as nested documents
    names = plan["fields"]
    for a in names:
        for b in names:
            if b.startswith(a + "."):
                return {"status": "excluded", "reason": "a field is also the parent of another field"}
    docs = generate(rng, plan, n_events)
    is_seq = isinstance(q.first, A.Sequence)
    engine = EsEngine(flatten=not is_seq)
    results = []
    if is_seq:
        q = add_mandatory_keys(q)
        engine.add_output_hook(lambda out: results.append([e.data["__i"] for e in out.events]))
    else:
        engine.add_output_hook(lambda ev: results.append(ev.data["__i"]))
    engine.add_query(q)
    events = []
    for i, d in enumerate(docs):
        # eql sees each value as the mapping indexes it, and the event time in
        # milliseconds (documents are generated in time order)
        cd = coerce_doc(d, types)
        cd["__i"] = i
        ev = cd.get("event")
        cat = ev.get("category") if isinstance(ev, dict) else None
        events.append(eql.Event(cat if isinstance(cat, str) else "__none__", ms_of(d["@timestamp"]), cd))
    try:
        engine.stream_events(events)
    except Exception as exc:  # noqa: BLE001
        return {"status": "excluded", "reason": "eql fails at run time: " + type(exc).__name__}
    out = {"status": "compared", "events": docs}
    if is_seq:
        out["sequences"] = results
    else:
        out["matches"] = results
    return out


def ms_of(s):
    import datetime
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def add_mandatory_keys(q):
    """Elasticsearch requires a non-optional join key to be present (AddMandatoryJoinKeyFilter);
    eql joins on a missing key as on a null value."""
    first = q.first
    for s in list(first.queries) + ([first.close] if first.close else []):
        fields = [jv for jv in s.join_values if isinstance(jv, A.Field)]
        if fields:
            s.query.query = A.And([s.query.query] + [A.IsNotNull(f) for f in fields])
    return q


def main():
    req = json.load(sys.stdin)
    rng = random.Random(req["seed"])
    out = []
    for item in req["queries"]:
        res = run_query(item["query"], item.get("types", {}), random.Random(rng.random()), req["events_per_query"])
        res["id"] = item["id"]
        out.append(res)
    json.dump({"eql_version": getattr(eql, "__version__", "?"), "results": out}, sys.stdout)


if __name__ == "__main__":
    main()
