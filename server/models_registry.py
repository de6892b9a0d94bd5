"""Imports every table so Alembic and the tests see the whole schema."""

from sqlmodel import SQLModel

from server.alerts import models as alerts_models
from server.audit import models as audit_models
from server.auth import models as auth_models
from server.care import models as care_models
from server.devices import models as devices_models
from server.elders import models as elders_models
from server.eligibility import models as eligibility_models
from server.inbound_sms import models as inbound_sms_models
from server.notify import models as notify_models
from server.observations import models as observations_models
from server.oncall import models as oncall_models
from server.reports import models as reports_models
from server.responders import models as responders_models

metadata = SQLModel.metadata

__all__ = [
    "alerts_models",
    "audit_models",
    "auth_models",
    "care_models",
    "devices_models",
    "elders_models",
    "eligibility_models",
    "inbound_sms_models",
    "metadata",
    "notify_models",
    "observations_models",
    "oncall_models",
    "reports_models",
    "responders_models",
]
