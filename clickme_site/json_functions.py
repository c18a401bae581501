"""Database functions over JSON columns that run on both backends the site supports: PostgreSQL
(jsonb) and SQLite 3.37+ (the embedded default, JSON1 built in; its jsonb_* functions came in 3.45)."""

from django.db.models import Func, IntegerField


class JSONArrayLength(Func):
    """The number of elements of a JSON array column (NULL for NULL): PostgreSQL's jsonb_array_length,
    SQLite's json_array_length (Debian's SQLite 3.40 has no jsonb_array_length)."""

    function = "jsonb_array_length"
    arity = 1
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="json_array_length", **extra_context)
