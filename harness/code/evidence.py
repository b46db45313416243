"""Evidence that a Pydantic model is built from ORM objects, gathered over the project.

A model is built from ORM objects when some function of the project:
- calls `Model.from_orm(x)`, or `Model.model_validate(x)` with `x` an ORM value;
- returns an ORM value from a route whose `response_model=` is the model (or a list of it),
  or from a function whose return annotation names the model.

An ORM value is an instance or a list of ORM classes, as far as the code shows it: a call of
an ORM class (`User(...)`), a session read (`db.get(User, id)`, `db.query(User).first()`,
`session.scalars(...).all()`, `await db.execute(...)`, `User.query.get(id)`), a call of a
project function annotated to return an ORM class (or returning such a value), the same for
a method called on a parameter annotated with a project class (`service.get(id)`), or a
local name bound to one of these or annotated with an ORM class. `Model(**data)`,
`Model(id=..., name=...)` and dict literals are not ORM values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import libcst as cst

from harness.code.facts import ClassInfo, Facts, iter_statements
from harness.code.known import SESSION_CALLS, SESSION_TYPES
from harness.code.matchers import split_optional, subscript_args, unwrap_annotated
from harness.code.names import Binding, BindingKind, Scope

#: Session methods that read ORM objects, and the `Query` / `Result` methods after them.
SESSION_READS = frozenset(
    {"get", "get_one", "scalar", "scalars", "execute", "query", "merge", "scalar_one"}
)
#: Methods of a `Query`, `Result` or `ScalarResult` that still give ORM objects.
RESULT_METHODS = frozenset(
    {
        "all",
        "first",
        "one",
        "one_or_none",
        "scalar",
        "scalars",
        "scalar_one",
        "scalar_one_or_none",
        "unique",
        "filter",
        "filter_by",
        "where",
        "order_by",
        "limit",
        "offset",
        "options",
    }
)
#: Names a session usually has (the same guess SQA006 documents).
SESSION_NAMES = frozenset({"session", "db", "db_session", "dbsession", "sess", "db_sess"})
#: Model methods that validate from an object.
FROM_OBJECT = frozenset({"from_orm", "model_validate"})
_MAX_DEPTH = 4
_MAX_NODES = 400


def orm_built_models(facts: Facts) -> frozenset[int]:
    """`id()` of the ClassDef of every model the project shows built from ORM objects."""
    return _over_project(facts, "orm-built", _function)


def response_model_classes(facts: Facts) -> frozenset[int]:
    """`id()` of the ClassDef of every model some route of the project (or of the unit,
    without a project) names as its `response_model=`, also as `schemas.UserRead` or
    `list[UserRead]`."""
    return _over_project(
        facts, "response-models", lambda fn, f: (id(i.node) for i in _response_models(fn, f))
    )


def _over_project(
    facts: Facts, key: str, scan: Callable[[cst.FunctionDef, Facts], Iterable[int]]
) -> frozenset[int]:
    """What `scan` finds in every function of the project (or of the unit, without a
    project), computed once."""

    def over(units: Iterable[Facts]) -> frozenset[int]:
        return frozenset(
            i
            for f in units
            if f.module is not None
            for stmt in iter_statements(f.module)
            if isinstance(stmt, cst.FunctionDef)
            for i in scan(stmt, f)
        )

    project = facts.project
    if project is None:
        memo_key = (key, 0)
        cached = facts.memo.get(memo_key)
        if cached is None:
            cached = facts.memo[memo_key] = over([facts])
        return cached  # type: ignore[return-value]
    return project.shared(key, lambda: over(project.units()))  # type: ignore[return-value]


def _function(fn: cst.FunctionDef, facts: Facts) -> Iterator[int]:
    scope = facts.scope_of(fn)
    targets = [*_response_models(fn, facts)]
    if fn.returns is not None:
        targets.extend(_models_named(fn.returns.annotation, facts))
    for stmt in _own_statements(fn):
        if isinstance(stmt, cst.Return) and stmt.value is not None:
            value = stmt.value
            if targets and _is_orm_value(value, scope, facts, 0):
                yield from (id(t.node) for t in targets)
            yield from _validated(value, scope, facts)
        elif isinstance(stmt, cst.Assign | cst.AnnAssign | cst.Expr) and stmt.value is not None:
            yield from _validated(stmt.value, scope, facts)


def _own_statements(fn: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """Statements of a function body, not of the functions and classes nested in it."""
    for stmt in iter_statements(fn.body):
        if not isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            yield stmt


def _response_models(fn: cst.FunctionDef, facts: Facts) -> Iterator[ClassInfo]:
    for deco in fn.decorators:
        call = deco.decorator
        if isinstance(call, cst.Call):
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "response_model":
                    yield from _models_named(arg.value, facts)


def _models_named(annotation: cst.BaseExpression, facts: Facts) -> Iterator[ClassInfo]:
    """Pydantic models an annotation names: `UserRead`, `list[UserRead]`, `UserRead | None`."""
    for cls in _classes_named(annotation, facts):
        if cls.is_pydantic:
            yield cls


def _classes_named(annotation: cst.BaseExpression, facts: Facts) -> Iterator[ClassInfo]:
    members, _ = split_optional(annotation, facts)
    for member in members:
        core, _ = unwrap_annotated(member, facts)
        if isinstance(core, cst.Subscript):  # list[X], Sequence[X], Page[X]
            for arg in subscript_args(core):
                yield from _classes_named(arg, facts)
        else:
            info = facts.class_of(facts.resolve(core))
            if info is not None:
                yield info


def _validated(value: cst.BaseExpression, scope: Scope, facts: Facts) -> Iterator[int]:
    """Models a statement's value validates from ORM objects: `M.from_orm(x)`,
    `M.model_validate(user).model_dump()`, inside calls' arguments, containers and
    comprehensions (over ORM values). At most `_MAX_NODES` nodes are looked at."""
    todo: list[tuple[cst.CSTNode, Scope]] = [(value, scope)]
    seen = 0
    while todo and seen < _MAX_NODES:
        node, where = todo.pop()
        seen += 1
        if isinstance(node, cst.Call):
            found = _validates(node, where, facts)
            if found is not None:
                yield found
            todo.append((node.func, where))
            todo.extend((arg.value, where) for arg in node.args)
        elif isinstance(node, cst.Attribute):
            todo.append((node.value, where))
        elif isinstance(node, cst.Await):
            todo.append((node.expression, where))
        elif isinstance(node, cst.List | cst.Tuple | cst.Set | cst.Dict):
            todo.extend((el.value, where) for el in node.elements)
        elif isinstance(node, cst.ListComp | cst.GeneratorExp | cst.SetComp):
            inner = dict(where)
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                if isinstance(comp.target, cst.Name):
                    inner[comp.target.value] = (_loop(comp.iter),)
                comp = comp.inner_for_in
            todo.append((node.elt, inner))


def _validates(call: cst.Call, scope: Scope, facts: Facts) -> int | None:
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in FROM_OBJECT:
        return None
    model = facts.class_of(facts.resolve(call.func.value))
    if model is None or not model.is_pydantic:
        return None
    arg = call.args[0].value if call.args and call.args[0].keyword is None else None
    if call.func.attr.value == "from_orm" or (
        arg is not None and _is_orm_value(arg, scope, facts, 0)
    ):
        return id(model.node)
    return None


def _loop(iterable: cst.BaseExpression) -> Binding:
    return Binding(BindingKind.LOOP, value=iterable)


def _is_orm_class(annotation: cst.BaseExpression, facts: Facts) -> bool:
    return any(cls.is_orm for cls in _classes_named(annotation, facts))


def _is_session(node: cst.BaseExpression, scope: Scope, facts: Facts) -> bool:
    if isinstance(node, cst.Attribute):  # self.db, db.session
        return node.attr.value.lstrip("_") in SESSION_NAMES
    if isinstance(node, cst.Call):
        return facts.resolve(node.func) in SESSION_CALLS
    if not isinstance(node, cst.Name):
        return False
    if node.value.lstrip("_") in SESSION_NAMES:
        return True
    for binding in scope.get(node.value, ()):
        ann = binding.annotation
        if ann is not None and any(
            facts.resolve(unwrap_annotated(m, facts)[0]) in SESSION_TYPES
            for m in split_optional(ann, facts)[0]
        ):
            return True
    return False


def _returns_orm(fn: cst.FunctionDef, facts: Facts, depth: int) -> bool:
    """Whether a function gives ORM values: by its return annotation, else by what it
    returns."""
    if fn.returns is not None:
        return _is_orm_class(fn.returns.annotation, facts)
    inner = facts.scope_of(fn)
    return any(
        isinstance(stmt, cst.Return)
        and stmt.value is not None
        and _is_orm_value(stmt.value, inner, facts, depth + 1)
        for stmt in _own_statements(fn)
    )


def _method(owner: ClassInfo, name: str, depth: int) -> tuple[cst.FunctionDef, Facts] | None:
    """The method `name` of a class, its own or a base's (in any file of the project), with
    the facts of the unit defining it."""
    body = owner.node.body
    for stmt in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt, owner.facts
    if depth >= _MAX_DEPTH:
        return None
    for base in owner.bases:
        info = owner.facts.class_of(base)
        found = _method(info, name, depth + 1) if info is not None else None
        if found is not None:
            return found
    return None


def _is_orm_value(value: cst.BaseExpression, scope: Scope, facts: Facts, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Name):
        for binding in scope.get(value.value, ()):
            if binding.annotation is not None and _is_orm_class(binding.annotation, facts):
                return True
            if binding.value is not None and _is_orm_value(binding.value, scope, facts, depth + 1):
                return True
        return False
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    target = facts.resolve(func)
    info = facts.class_of(target)
    if info is not None:
        return info.is_orm
    function = facts.function_of(target)
    if function is not None:
        return _returns_orm(function.node, function.facts, depth)
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        # `service.get(id)` with `service: UserService`: what that method returns.
        for binding in scope.get(func.value.value, ()):
            if binding.annotation is None:
                continue
            for owner in _classes_named(binding.annotation, facts):
                method = _method(owner, func.attr.value, 0)
                if method is not None and _returns_orm(*method, depth):
                    return True
    # A chain of calls ending on a session read: `db.query(User).filter(...).first()`, or
    # result methods on a name bound to one (`rows.all()`).
    node: cst.BaseExpression = value
    results_only = True
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        attr = node.func.attr.value
        receiver = node.func.value
        if attr in SESSION_READS and _is_session(receiver, scope, facts):
            return True
        results_only = results_only and attr in RESULT_METHODS
        node = receiver
        if isinstance(node, cst.Attribute) and node.attr.value == "query":  # User.query.get()
            owner = facts.class_of(facts.resolve(node.value))
            return owner is not None and owner.is_orm
    return (
        results_only
        and node is not value
        and isinstance(node, cst.Name)
        and _is_orm_value(node, scope, facts, depth + 1)
    )
