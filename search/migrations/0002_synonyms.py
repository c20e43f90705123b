# Synonyms editors manage (#13): the table and a first engineering list, which editors change in the admin.
from django.db import migrations, models

# (term, what it means, two-way). Two-way: readers typing the meaning also find articles that only use the term.
FIRST_LIST = [
    ("otel", "opentelemetry", True),
    ("hpa", "horizontal pod autoscaler", True),
    ("authn", "authentication", True),
    ("authz", "authorization", True),
    ("auth", "authentication, authorization", False),
    ("k8s", "kubernetes", True),
    ("postgres", "postgresql", True),
    ("pg", "postgresql", False),
    ("db", "database", True),
    ("ci", "continuous integration", True),
    ("cd", "continuous delivery, continuous deployment", True),
    ("sso", "single sign-on", True),
    ("mfa", "multi-factor authentication", True),
    ("2fa", "two-factor authentication", True),
    ("jwt", "json web token", True),
    ("oidc", "openid connect", True),
    ("rls", "row-level security", True),
    ("dlq", "dead letter queue", True),
    ("cqrs", "command query responsibility segregation", True),
    ("sbom", "software bill of materials", True),
    ("mtls", "mutual tls", True),
    ("slo", "service level objective", True),
    ("sli", "service level indicator", True),
    ("sla", "service level agreement", True),
    ("mttr", "mean time to recovery, mean time to restore", True),
    ("rps", "requests per second", True),
    ("e2e", "end-to-end", True),
    ("sdk", "client library", False),
    ("cdn", "content delivery network", True),
    ("iac", "infrastructure as code", True),
    ("rbac", "role-based access control", True),
    ("idor", "insecure direct object reference", True),
    ("xss", "cross-site scripting", True),
    ("csrf", "cross-site request forgery", True),
    ("ssrf", "server-side request forgery", True),
    ("sqli", "sql injection", True),
    ("faas", "functions as a service, serverless", False),
    ("pubsub", "pub/sub, publish/subscribe", True),
    ("rpc", "remote procedure call", True),
    ("semver", "semantic versioning", True),
    ("lb", "load balancer", True),
    ("env vars", "environment variables", True),
    ("config", "configuration", True),
    ("perf", "performance", False),
    ("pr", "pull request", True),
    ("oom", "out of memory", True),
    ("12 factor", "twelve-factor", True),
    ("sqs", "simple queue service", False),
]


def add_first_list(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    Synonym.objects.using(schema_editor.connection.alias).bulk_create(
        [Synonym(term=term, means=means, two_way=two_way) for term, means, two_way in FIRST_LIST],
        ignore_conflicts=True,
    )


def remove_first_list(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    Synonym.objects.using(schema_editor.connection.alias).filter(term__in=[t for t, _, _ in FIRST_LIST]).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Synonym",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "term",
                    models.CharField(
                        help_text="What readers type: a word or a few words, e.g. “hpa” or “k8s”. "
                        "Case and punctuation are ignored.",
                        max_length=100,
                        unique=True,
                    ),
                ),
                (
                    "means",
                    models.CharField(
                        help_text="What it means, as articles write it: e.g. “horizontal pod autoscaler”. "
                        "Separate several meanings with commas: “kubernetes, k8s cluster”.",
                        max_length=300,
                    ),
                ),
                (
                    "two_way",
                    models.BooleanField(
                        default=True,
                        help_text="Also search for the term when readers type what it means "
                        "(“opentelemetry” finds articles that only say “otel”).",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["term"]},
        ),
        migrations.RunPython(add_first_list, remove_first_list),
    ]
