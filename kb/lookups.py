"""`field__any_of=[…]`: membership in a list of values passed as one parameter.

`field__in=[…]` puts one placeholder per value in the SQL: for the few hundred
ids a search ranks or counts facets over, building and binding that text cost
more of the request's Python time than the query took in PostgreSQL. On
PostgreSQL this is `field = ANY(%s)` with the list as one array, the condition
PostgreSQL itself turns an IN list into (same plan); elsewhere a plain IN.
"""

from django.db.models import Field, Lookup


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
