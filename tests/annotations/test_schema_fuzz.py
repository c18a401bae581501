"""Schemathesis against /api/schema/ with a valid researcher token: no 5xx, answers match the schema."""

from contextlib import contextmanager

import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, response_schema_conformance

from annotations import services
from clickme_site.wsgi import application


@contextmanager
def keep_test_connection():
    """Calls of the WSGI app must not close the test's database connection (Django's test client
    does the same; it reconnects the handler after each of its own requests, so enter this after)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_research_api_never_fails_and_matches_its_schema(db, played_images, django_user_model, client):
    for image in played_images:
        services.map_rebuild(image_id=image.pk)
    token = Token.objects.create(user=django_user_model.objects.create_user("fuzzer")).key
    raw = client.get("/api/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(raw).include(path_regex="^/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    seen = set()

    @given(case=st.sampled_from(operations).flatmap(lambda operation: operation.as_strategy()))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        seen.add(case.operation.label)
        response = case.call(app=application, headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    with keep_test_connection():
        fuzz()
    assert len(seen) >= 8
