"""Bodies for the directory resources: one valid PATCH per resource, and one of each kind of mistake.

Shared by the model tests and the CLI test, so both hold the same examples (the README's are these too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

USER_ID = "8a6f4f0e-1b2c-4d3e-9f00-112233445566"
OTHER_ID = "0f1e2d3c-4b5a-4968-8776-655443322110"
UPN = "adele.vance@contoso.onmicrosoft.com"


@dataclass(frozen=True)
class Resource:
    """A directory resource: its path, a valid body, and one mistake of each kind (field, value)."""

    name: str
    path: str
    valid: dict[str, Any]
    unknown: str
    wrong_type: tuple[str, Any, str, str]  # (property, value, location in the body, error type)
    read_only: str
    navigation: str


RESOURCES = (
    Resource(
        "user",
        f"/users/{USER_ID}",
        {
            "department": "Finance",
            "jobTitle": "Controller",
            "employeeId": "E1042",
            "accountEnabled": True,
            "businessPhones": ["+1 425 555 0109"],
            "employeeHireDate": "2024-03-01T00:00:00Z",
            "passwordProfile": {"forceChangePasswordNextSignIn": True},
            "onPremisesExtensionAttributes": {"extensionAttribute1": "cc-4711"},
        },
        unknown="departement",
        wrong_type=(
            "passwordProfile",
            {"forceChangePasswordNextSignIn": "yes"},
            "forceChangePasswordNextSignIn",
            "bool_type",
        ),
        read_only="createdDateTime",
        navigation="manager",
    ),
    Resource(
        "group",
        f"/groups/{USER_ID}",
        {"displayName": "Finance EMEA", "description": "Finance staff in EMEA", "mailNickname": "finance-emea"},
        unknown="displayname",
        wrong_type=("groupTypes", "Unified", "", "list_type"),
        read_only="mail",
        navigation="members",
    ),
    Resource(
        "device",
        f"/devices/{USER_ID}",
        {"accountEnabled": False, "displayName": "LAPTOP-0042", "operatingSystemVersion": "10.0.22631"},
        unknown="serialNumber",
        wrong_type=("accountEnabled", "false", "", "bool_type"),
        read_only="registrationDateTime",
        navigation="registeredOwners",
    ),
    Resource(
        "application",
        f"/applications/{USER_ID}",
        {
            "displayName": "HR sync",
            "tags": ["hr"],
            "web": {
                "redirectUris": ["https://hr.contoso.com/auth"],
                "implicitGrantSettings": {"enableIdTokenIssuance": False},
            },
            "requiredResourceAccess": [
                {
                    "resourceAppId": "00000003-0000-0000-c000-000000000000",
                    "resourceAccess": [{"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}],
                }
            ],
        },
        unknown="homepage",
        wrong_type=(
            "requiredResourceAccess",
            [{"resourceAccess": [{"id": "User.Read"}]}],
            "0.resourceAccess.0.id",
            "guid_format",
        ),
        read_only="appId",
        navigation="owners",
    ),
    Resource(
        "service_principal",
        f"/servicePrincipals/{USER_ID}",
        {"accountEnabled": True, "appRoleAssignmentRequired": True, "notes": "owned by HR", "tags": ["HideApp"]},
        unknown="signInAudiences",
        wrong_type=("tags", "HideApp", "", "list_type"),
        read_only="createdByAppId",  # the one read-only property Graph's CSDL annotates (Core.V1.Immutable)
        navigation="owners",
    ),
)
