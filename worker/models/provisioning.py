"""provisioningObjectSummary (`PATCH /auditLogs/provisioning`) and every type nested in it, as in the seed.

Enum-like properties (`action`, `initiatorType`, `status`, `provisioningStepType`) are plain strings:
the seed's table types them as String and its request example sends the literal value "String".
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from worker.models.base import ABSENT, DateTimeOffset, GraphModel, Int32


class DetailsInfo(GraphModel):
    """microsoft.graph.detailsInfo: an open complex type.

    Graph declares no properties on detailsInfo and marks it open (OpenType="true"): services put
    arbitrary name/value pairs in it. The seed lists none, so the only way to say anything in it is a
    dynamic property; it is therefore the one model with `extra="allow"` (still checking `@odata.type`).
    """

    model_config = ConfigDict(extra="allow")
    odata_type_name: ClassVar[str] = "microsoft.graph.detailsInfo"
    odata_type: Literal["#microsoft.graph.detailsInfo", "microsoft.graph.detailsInfo"] = Field(
        default=ABSENT, alias="@odata.type"
    )


class ProvisioningServicePrincipal(GraphModel):
    """microsoft.graph.provisioningServicePrincipal."""

    odata_type_name: ClassVar[str] = "microsoft.graph.provisioningServicePrincipal"
    odata_type: Literal[
        "#microsoft.graph.provisioningServicePrincipal", "microsoft.graph.provisioningServicePrincipal"
    ] = Field(default=ABSENT, alias="@odata.type")
    id: str | None = Field(default=None, alias="id")
    display_name: str | None = Field(default=None, alias="displayName")


class Initiator(GraphModel):
    """microsoft.graph.initiator."""

    odata_type_name: ClassVar[str] = "microsoft.graph.initiator"
    odata_type: Literal["#microsoft.graph.initiator", "microsoft.graph.initiator"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    id: str | None = Field(default=None, alias="id")
    display_name: str | None = Field(default=None, alias="displayName")
    initiator_type: str | None = Field(default=None, alias="initiatorType")


class ProvisioningSystemDetails(GraphModel):
    """microsoft.graph.provisioningSystemDetails."""

    odata_type_name: ClassVar[str] = "microsoft.graph.provisioningSystemDetails"
    odata_type: Literal["#microsoft.graph.provisioningSystemDetails", "microsoft.graph.provisioningSystemDetails"] = (
        Field(default=ABSENT, alias="@odata.type")
    )
    id: str | None = Field(default=None, alias="id")
    display_name: str | None = Field(default=None, alias="displayName")
    details: DetailsInfo | None = Field(default=None, alias="details")


class ProvisionedIdentity(GraphModel):
    """microsoft.graph.provisionedIdentity."""

    odata_type_name: ClassVar[str] = "microsoft.graph.provisionedIdentity"
    odata_type: Literal["#microsoft.graph.provisionedIdentity", "microsoft.graph.provisionedIdentity"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    id: str | None = Field(default=None, alias="id")
    display_name: str | None = Field(default=None, alias="displayName")
    identity_type: str | None = Field(default=None, alias="identityType")
    details: DetailsInfo | None = Field(default=None, alias="details")


class StatusBase(GraphModel):
    """microsoft.graph.statusBase.

    Graph also has the derived type statusDetails (additionalDetails, errorCode, reason, ...); the seed
    names only statusBase, so only `status` and `@odata.type` "microsoft.graph.statusBase" are accepted.
    """

    odata_type_name: ClassVar[str] = "microsoft.graph.statusBase"
    odata_type: Literal["#microsoft.graph.statusBase", "microsoft.graph.statusBase"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    status: str | None = Field(default=None, alias="status")


class ProvisioningStep(GraphModel):
    """microsoft.graph.provisioningStep."""

    odata_type_name: ClassVar[str] = "microsoft.graph.provisioningStep"
    odata_type: Literal["#microsoft.graph.provisioningStep", "microsoft.graph.provisioningStep"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    name: str | None = Field(default=None, alias="name")
    description: str | None = Field(default=None, alias="description")
    provisioning_step_type: str | None = Field(default=None, alias="provisioningStepType")
    status: str | None = Field(default=None, alias="status")
    details: DetailsInfo | None = Field(default=None, alias="details")


class ModifiedProperty(GraphModel):
    """microsoft.graph.modifiedProperty."""

    odata_type_name: ClassVar[str] = "microsoft.graph.modifiedProperty"
    odata_type: Literal["#microsoft.graph.modifiedProperty", "microsoft.graph.modifiedProperty"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    display_name: str | None = Field(default=None, alias="displayName")
    old_value: str | None = Field(default=None, alias="oldValue")
    new_value: str | None = Field(default=None, alias="newValue")


class ProvisioningObjectSummary(GraphModel):
    """microsoft.graph.provisioningObjectSummary: the body of `PATCH /auditLogs/provisioning[/{id}]`."""

    odata_type_name: ClassVar[str] = "microsoft.graph.provisioningObjectSummary"
    odata_type: Literal["#microsoft.graph.provisioningObjectSummary", "microsoft.graph.provisioningObjectSummary"] = (
        Field(default=ABSENT, alias="@odata.type")
    )
    id: str | None = Field(default=None, alias="id")
    activity_date_time: DateTimeOffset | None = Field(default=None, alias="activityDateTime")
    tenant_id: str | None = Field(default=None, alias="tenantId")
    job_id: str | None = Field(default=None, alias="jobId")
    cycle_id: str | None = Field(default=None, alias="cycleId")
    change_id: str | None = Field(default=None, alias="changeId")
    action: str | None = Field(default=None, alias="action")
    duration_in_milliseconds: Int32 | None = Field(default=None, alias="durationInMilliseconds")
    service_principal: ProvisioningServicePrincipal | None = Field(default=None, alias="servicePrincipal")
    initiated_by: Initiator | None = Field(default=None, alias="initiatedBy")
    source_system: ProvisioningSystemDetails | None = Field(default=None, alias="sourceSystem")
    target_system: ProvisioningSystemDetails | None = Field(default=None, alias="targetSystem")
    source_identity: ProvisionedIdentity | None = Field(default=None, alias="sourceIdentity")
    target_identity: ProvisionedIdentity | None = Field(default=None, alias="targetIdentity")
    status_info: StatusBase | None = Field(default=None, alias="statusInfo")
    provisioning_steps: list[ProvisioningStep] | None = Field(default=None, alias="provisioningSteps")
    modified_properties: list[ModifiedProperty] | None = Field(default=None, alias="modifiedProperties")
