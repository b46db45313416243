from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from harness.code.matchers import callee_tail, local_aliases
from harness.code.names import Binding, BindingKind
from harness.code.rule import CodeRule
from harness.registry import Invalid, Valid

if TYPE_CHECKING:
    from harness.code.context import UnitContext

#: Methods that run SQL text, on any receiver (session, connection, cursor, db, ...), with
#: asyncpg's and the `databases` package's query methods.
EXECUTE_METHODS = frozenset(
    {"execute", "executemany", "executescript", "exec_driver_sql"}
    | {"fetchrow", "fetchval", "fetch_all", "fetch_one", "fetch_val"}
)
#: asyncpg's `fetch` is also an HTTP client's method: SQL only on a receiver named like a
#: database connection (a guess from the name: `conn`, `pool`, `db`, `self.connection`).
FETCH_RECEIVER = re.compile(r"(?:^|_)(?:conn|connection|pool|db|database|cursor|cur|tx)$")
#: pandas functions that run SQL text.
READ_SQL_FUNCTIONS = frozenset(
    {"pandas.read_sql", "pandas.read_sql_query", "pandas.io.sql.read_sql"}
)
#: Keyword names under which the methods above take the statement.
STATEMENT_KEYWORDS = frozenset({"statement", "sql", "query", "operation"})
#: Functions that wrap SQL text into a statement, as resolved dotted names.
TEXT_FUNCTIONS = frozenset(
    {
        "sqlalchemy.text",
        "sqlalchemy.sql.text",
        "sqlalchemy.sql.expression.text",
        "sqlalchemy.sql.elements.text",
        "sqlmodel.text",
    }
)
#: `"...".format(...)` or `template.format(...)`.
FORMAT_METHOD_CALL = m.Call(func=m.Attribute(attr=m.Name("format")))
#: `"<literal>".join(one argument)`.
JOIN_CALL = m.Call(
    func=m.Attribute(value=m.SimpleString(), attr=m.Name("join")), args=[m.Arg(keyword=None)]
)
#: A string literal, or a list / tuple of them (`["%s"]`).
STRING_LITERALS = (
    m.SimpleString()
    | m.List(elements=[m.Element(m.SimpleString())])
    | m.Tuple(elements=[m.Element(m.SimpleString())])
)
#: Literal scalars (strings are handled apart, since f-strings may interpolate).
LITERAL_SCALAR = (
    m.Integer() | m.Float() | m.Imaginary() | m.Name("None") | m.Name("True") | m.Name("False")
)


#: What a `for` loop may run over for its variable to hold only literals.
_LITERAL_ITERABLES = (cst.Tuple, cst.List, cst.Set, cst.Name)


class Kind(Enum):
    """What an expression is, as far as SQL building goes."""

    LITERAL = "literal"  # made only of literals and literal constants
    DYNAMIC = "dynamic"  # a string built by formatting with a non-literal part
    OTHER = "other"  # anything else: a parameter, a call result, an attribute


Lookup = Callable[[str], Kind]


def _merge(a: Kind, b: Kind) -> Kind:
    """Either of two values may reach the use (a conditional assignment)."""
    if Kind.DYNAMIC in (a, b):
        return Kind.DYNAMIC
    return Kind.LITERAL if a is b is Kind.LITERAL else Kind.OTHER


def _add(a: Kind, b: Kind) -> Kind:
    """`a + b`: concatenating a literal with a non-literal builds text from input."""
    if Kind.DYNAMIC in (a, b) or {a, b} == {Kind.LITERAL, Kind.OTHER}:
        return Kind.DYNAMIC
    return a if a is b else Kind.OTHER


def classify(node: cst.BaseExpression, lookup: Lookup) -> Kind:
    """Classify an expression; `lookup` says what a bare name holds."""
    if isinstance(node, cst.SimpleString) or m.matches(node, LITERAL_SCALAR):
        return Kind.LITERAL
    if isinstance(node, cst.Name):
        return lookup(node.value)
    if isinstance(node, cst.FormattedString):
        for part in node.parts:
            if (
                isinstance(part, cst.FormattedStringExpression)
                and classify(part.expression, lookup) is not Kind.LITERAL
            ):
                return Kind.DYNAMIC
        return Kind.LITERAL
    if isinstance(node, cst.ConcatenatedString):
        parts = (classify(node.left, lookup), classify(node.right, lookup))
        return Kind.DYNAMIC if Kind.DYNAMIC in parts else Kind.LITERAL
    if isinstance(node, cst.BinaryOperation):
        left = classify(node.left, lookup)
        if isinstance(node.operator, cst.Add):
            return _add(left, classify(node.right, lookup))
        if isinstance(node.operator, cst.Modulo) and left is not Kind.OTHER:
            right = classify(node.right, lookup)
            return Kind.LITERAL if left is right is Kind.LITERAL else Kind.DYNAMIC
        if isinstance(node.operator, cst.Multiply):
            return _repeat(node, lookup)
        return Kind.OTHER
    if m.matches(node, JOIN_CALL):  # `", ".join(f":id{i}" for i in range(n))`
        return _joined(node.args[0].value, lookup)  # type: ignore[attr-defined]
    if m.matches(node, FORMAT_METHOD_CALL):
        args = [classify(a.value, lookup) for a in node.args]  # type: ignore[attr-defined]
        if any(k is not Kind.LITERAL for k in args):
            return Kind.DYNAMIC
        receiver = classify(node.func.value, lookup)  # type: ignore[attr-defined]
        return Kind.LITERAL if receiver is Kind.LITERAL else receiver
    if isinstance(node, cst.Tuple | cst.List | cst.Set):
        kinds = [classify(el.value, lookup) for el in node.elements]
        return Kind.LITERAL if all(k is Kind.LITERAL for k in kinds) else Kind.OTHER
    if isinstance(node, cst.UnaryOperation):
        inner = classify(node.expression, lookup)
        return Kind.LITERAL if inner is Kind.LITERAL else Kind.OTHER
    return Kind.OTHER


def _repeat(node: cst.BinaryOperation, lookup: Lookup) -> Kind:
    """`"?" * n`, `["%s"] * len(ids)`: text repeated from a string literal is literal."""
    for text, count in ((node.left, node.right), (node.right, node.left)):
        if m.matches(text, STRING_LITERALS) and classify(count, lookup) is not Kind.DYNAMIC:
            return Kind.LITERAL
    return Kind.OTHER


def _joined(items: cst.BaseExpression, lookup: Lookup) -> Kind:
    """What `sep.join(items)` holds: its items' kind. A comprehension's loop variable over
    `range(...)`, or the index of `enumerate(...)`, is a number."""
    if not isinstance(items, cst.ListComp | cst.GeneratorExp | cst.SetComp):
        return classify(items, lookup)
    numbers: set[str] = set()
    comp: cst.CompFor | None = items.for_in
    while comp is not None:
        call = comp.iter
        if isinstance(comp.target, cst.Name) and m.matches(call, m.Call(func=m.Name("range"))):
            numbers.add(comp.target.value)
        elif (
            isinstance(comp.target, cst.Tuple)
            and comp.target.elements
            and isinstance(comp.target.elements[0].value, cst.Name)
            and m.matches(call, m.Call(func=m.Name("enumerate")))
        ):
            numbers.add(comp.target.elements[0].value.value)
        comp = comp.inner_for_in
    return classify(items.elt, lambda name: Kind.LITERAL if name in numbers else lookup(name))


_READ_SQL_NAMES = frozenset(name.rsplit(".", 1)[1] for name in READ_SQL_FUNCTIONS)


def _names_a_connection(node: cst.BaseExpression) -> bool:
    name = node.attr if isinstance(node, cst.Attribute) else node
    return isinstance(name, cst.Name) and FETCH_RECEIVER.search(name.value.lower()) is not None


def _statement_arg(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None:
            return None if arg.star else arg.value
        if arg.keyword.value in STATEMENT_KEYWORDS:
            return arg.value
    return None


class SqlBuiltFromStringFormatting(CodeRule):
    """
    ## What it does
    Flags SQL text built by string formatting and passed to a database: an f-string with at
    least one interpolation, `%` formatting, `.format(...)`, or `+` concatenation with a
    non-literal operand, given to `execute` / `executemany` / `executescript` /
    `exec_driver_sql` (on any receiver: session, connection, cursor, db), to asyncpg's and
    the `databases` package's `fetchrow` / `fetchval` / `fetch_all` / `fetch_one` /
    `fetch_val`, to SQLAlchemy's `text(...)` (resolved through the imports, e.g.
    `sa.text`) or to pandas' `read_sql` / `read_sql_query`. asyncpg's `fetch(...)` is also
    an HTTP client's method name, so it counts only on a receiver named like a connection
    (`conn`, `pool`, `db`, `cursor`, `tx`, or ending `_conn`, `_pool`, `_db`: a guess from
    the name).

    A plain local variable is followed: `q = f"... {x}"` earlier in the same function, then
    `cursor.execute(q)` or `text(q)`, including `q += f" AND {col} = 1"`. Every earlier
    assignment of the name in the function counts, in any branch or loop: one formatted value
    taints the name, even when a later one assigns a literal.

    Not flagged, because no input reaches the text: literals concatenated with literals
    (`"SELECT " + "1"`, implicit concatenation), f-strings that interpolate only literal
    constants (a module-level `TABLE = "users"`, a local name bound only to literals, or a
    loop variable over a literal tuple, list or set of them: `for table in ("users",)`), and
    parametrized queries (`text("... WHERE id = :id"), {"id": x}`,
    `cur.execute("... = %s", (x,))`), with bind markers built for an `IN` list: a string
    literal repeated (`"?" * len(ids)`, `["%s"] * n`) or joined
    (`", ".join(f":id{i}" for i in range(n))`, where a loop variable over `range()` or the
    index of `enumerate()` is a number). Joining the values themselves is flagged. Strings
    that merely contain SQL are not flagged unless they reach one of the calls above.
    Interpolating an attribute (`{settings.schema}`) or a call result counts as input. A
    function parameter passed straight to a sink (`cur.execute(query)`) is not flagged: the
    text is built elsewhere.

    Fragments: in code that imports nothing ("the rest is unchanged"), `text` resolve to the
    library's names when neither the unit nor its project binds them; a name the code binds to
    something else never does.

    ## Why is this bad?
    Any value spliced into SQL text can change the statement: this is SQL injection. Even
    trusted values break on quotes, defeat the database's statement cache and make queries
    hard to audit.

    ## Example
    ```python
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    async def find(session: AsyncSession, email: str) -> Row | None:
        result = await session.execute(text(f"SELECT * FROM users WHERE email = '{email}'"))
        return result.first()
    ```

    ## Use instead
    ```python
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    async def find(session: AsyncSession, email: str) -> Row | None:
        result = await session.execute(
            text("SELECT * FROM users WHERE email = :email"), {"email": email}
        )
        return result.first()
    ```
    """

    code = "SQL001"
    name = "sql-built-from-string-formatting"
    message = "SQL text is built by string formatting; pass values as bound parameters"
    valid = (
        # A loop over literal table names (a migration, a test fixture).
        Valid("""
            from sqlalchemy import text

            TABLES = ("orders", "users")

            def reset(conn):
                for table in TABLES:
                    conn.execute(text(f"TRUNCATE {table} CASCADE"))
                for view in ["daily", "weekly"]:
                    conn.execute(text(f"REFRESH MATERIALIZED VIEW {view}"))
            """),
        # An HTTP client's `fetch` takes a URL, not SQL.
        Valid("""
            async def profile(http_client, user_id):
                return await http_client.fetch(f"https://api.example.com/users/{user_id}")
            """),
        # Placeholders for an IN list: the text holds only bind markers, the values are bound.
        Valid("""
            from sqlalchemy import text

            def by_ids(session, ids):
                marks = ", ".join(f":id{i}" for i in range(len(ids)))
                params = {f"id{i}": v for i, v in enumerate(ids)}
                return session.execute(text(f"SELECT * FROM t WHERE id IN ({marks})"), params)

            def by_ids_sqlite(cur, ids):
                cur.execute(f"SELECT * FROM t WHERE id IN ({','.join('?' * len(ids))})", ids)

            def by_ids_pg(cur, ids):
                marks = ", ".join(["%s"] * len(ids))
                cur.execute("SELECT * FROM t WHERE id IN (" + marks + ")", ids)
            """),
        # A name bound to something else is never read as the library's.
        Valid(
            """
            def text(value):
                return value.strip()

            def find(db, name):
                return text(f"name = {name}")
            """
        ),
        # Parametrized queries.
        Valid("""
            from sqlalchemy import text
            def f(s, x):
                return s.execute(text('SELECT * FROM t WHERE id = :id'), {'id': x})
            """),
        Valid("""
            def f(cur, x):
                cur.execute('SELECT * FROM t WHERE id = %s', (x,))
            """),
        # Literal-only building, module constants and local literal names.
        Valid("""
            TABLE = 'users'
            COLS = 'id, ' + 'name'
            def f(cur):
                cur.execute(f'SELECT {COLS} FROM {TABLE}')
            """),
        Valid("""
            def f(conn):
                q = 'SELECT * FROM t'
                q += ' WHERE id = :id'
                conn.exec_driver_sql(q)
            """),
        Valid("""
            def f(cur):
                cur.execute('SELECT * ' 'FROM t ' + 'LIMIT 10')
            """),
        # Formatted strings that never reach a sink.
        Valid("""
            def f(x):
                msg = f'SELECT * FROM t WHERE id = {x}'
                logger.info(msg)
            """),
        Valid('''
            """Never do cur.execute(f"SELECT {x}")."""
            '''),
        # `text` that is not SQLAlchemy's.
        Valid("""
            from app.ui import text
            def f(x):
                return text(f'Hello {x}')
            """),
        # A later assignment does not reach an earlier execute.
        Valid("""
            def f(cur, x):
                q = 'SELECT 1'
                cur.execute(q)
                q = f'SELECT {x}'
            """),
        # Another function's variable is not this one's.
        Valid("""
            def a(x):
                q = f'SELECT {x}'
                return q
            def b(cur):
                q = 'SELECT 1'
                cur.execute(q)
            """),
    )
    invalid = (
        # The loop runs over the caller's values.
        Invalid(
            """
            def purge(cursor, tables):
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")
            """,
            line=3,
        ),
        # asyncpg: the table name formatted in, the id bound.
        Invalid(
            """
            async def find(conn, table, uid):
                return await conn.fetch("SELECT * FROM {} WHERE id = $1".format(table), uid)
            """,
            line=2,
        ),
        Invalid(
            """
            import pandas as pd

            def report(engine, day):
                return pd.read_sql(f"SELECT * FROM orders WHERE day = '{day}'", engine)
            """,
            line=4,
        ),
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            def find(db, name):
                return db.execute(text(f"SELECT * FROM users WHERE name = '{name}'"))
            """,
            line=2,
        ),
        Invalid(
            """
            import sqlalchemy as sa

            async def f(session, email):
                await session.execute(
                    sa.text(f"SELECT * FROM users WHERE email = '{email}'")
                )
            """,
            line=5,
            count=1,
        ),
        Invalid(
            """
            def f(cur, uid):
                cur.execute('SELECT * FROM t WHERE id = %s' % uid)
            """,
            line=2,
        ),
        Invalid(
            """
            def f(conn, name):
                conn.exec_driver_sql(
                    'SELECT * FROM t WHERE name = {}'.format(name)
                )
            """,
            line=3,
        ),
        Invalid(
            """
            def f(db, name):
                db.execute("SELECT * FROM t WHERE name = '" + name + "'")
            """,
            line=2,
        ),
        # Variable tracked within the function, through a branch and `+=`.
        Invalid(
            """
            from sqlalchemy import text as sql_text

            class Repo:
                async def search(self, term, order):
                    q = 'SELECT * FROM items WHERE 1 = 1'
                    if term:
                        q += f" AND name LIKE '%{term}%'"
                    async with self.engine.connect() as conn:
                        return await conn.execute(sql_text(q))
            """,
            line=9,
            count=1,
        ),
        Invalid(
            """
            def f(cur, ids):
                query = f'DELETE FROM t WHERE id IN ({ids})'
                cur.executemany(query, [])
            """,
            line=3,
        ),
        # Module-level script, keyword argument.
        Invalid(
            """
            import sys
            sql = 'SELECT * FROM t WHERE id = ' + sys.argv[1]
            cursor.execute(sql=sql)
            """,
            line=3,
        ),
        # Joining the values themselves splices input into the text.
        Invalid(
            """
            def by_names(cur, names):
                listed = ", ".join(f"'{n}'" for n in names)
                cur.execute(f"SELECT * FROM t WHERE name IN ({listed})")
            """,
            line=3,
        ),
        # Nested function.
        Invalid(
            """
            def outer(cur):
                def inner(x):
                    cur.execute(f'SELECT {x}')
                return inner
            """,
            line=3,
        ),
    )

    _constants: dict[str, Kind] | None = None  # module-level literal constants, computed once
    _text_names: frozenset[str] | None = None

    def __init__(self, ctx: UnitContext) -> None:
        super().__init__(ctx)
        self._resolving: set[str] = set()
        self._done: set[int] = set()  # assignments the walk (in source order) has passed

    def leave_Assign(self, node: cst.Assign) -> None:
        self._done.add(id(node))

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._done.add(id(node))

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        self._done.add(id(node))

    def _module_constant(self, name: str) -> Kind:
        if self._constants is None:
            constants: dict[str, Kind] = {}
            module = self.ancestors[0]
            assert isinstance(module, cst.Module)
            for stmt in module.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign):
                            kind = classify(small.value, lambda n: constants.get(n, Kind.OTHER))
                            for target in small.targets:
                                if isinstance(target.target, cst.Name):
                                    constants[target.target.value] = kind
            self._constants = constants
        return self._constants.get(name, Kind.OTHER)

    def _lookup(self, name: str) -> Kind:
        """What a name holds here, from the name-resolution service: the bindings of the
        innermost function scope binding it that come before this point, merged (any
        formatted one taints the name); a module-level literal constant; else unknown."""
        for scope in reversed(self.facts.scopes):
            found = scope.get(name)
            if found is not None:
                if name in self._resolving:  # `q = q + ...`: the other bindings decide
                    return Kind.LITERAL
                self._resolving.add(name)
                try:
                    kinds = [
                        self._binding_kind(name, b)
                        for b in found
                        if b.node is None or id(b.node) in self._done
                    ] or [Kind.OTHER]
                finally:
                    self._resolving.discard(name)
                merged = kinds[0]
                for kind in kinds[1:]:
                    merged = _merge(merged, kind)
                return merged
        return self._module_constant(name)

    def _binding_kind(self, name: str, binding: Binding) -> Kind:
        if binding.kind is BindingKind.LOOP and isinstance(binding.value, _LITERAL_ITERABLES):
            # `for table in ("users", "posts")`, or over a name bound to such a literal.
            literal = classify(binding.value, self._lookup) is Kind.LITERAL
            return Kind.LITERAL if literal else Kind.OTHER
        if binding.kind is not BindingKind.ASSIGN or binding.value is None:
            return Kind.OTHER  # a parameter, a loop variable, an import
        value = classify(binding.value, self._lookup)
        if binding.augmented is None:
            return value
        if isinstance(binding.augmented, cst.AddAssign):
            return _add(self._lookup(name), value)
        return Kind.OTHER

    def _is_text_call(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Name):
            if self._text_names is None:
                self._text_names = local_aliases(self.facts, TEXT_FUNCTIONS)
            if func.value in self._text_names:
                return True
            # A fragment's unbound `text(...)` is SQLAlchemy's.
            return func.value == "text" and self.facts.resolve(func) in TEXT_FUNCTIONS
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "text"
            and self.facts.resolve(func) in TEXT_FUNCTIONS
        )

    def visit_Call(self, node: cst.Call) -> None:
        # Plain attribute checks: this runs for every call in the unit.
        func = node.func
        if isinstance(func, cst.Attribute) and (
            func.attr.value in EXECUTE_METHODS
            or (func.attr.value == "fetch" and _names_a_connection(func.value))
        ):
            sql = _statement_arg(node)
        elif self._is_text_call(node):
            sql = node.args[0].value if node.args else None
        elif (
            callee_tail(node) in _READ_SQL_NAMES and self.facts.resolve(func) in READ_SQL_FUNCTIONS
        ):
            sql = _statement_arg(node)
        else:
            return
        self.site()
        if sql is None or isinstance(sql, cst.SimpleString):
            return
        if classify(sql, self._lookup) is Kind.DYNAMIC:
            self.report(sql)
