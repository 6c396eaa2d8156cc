"""Graph v1.0: strict PATCH models of user, group, device, application, servicePrincipal. GENERATED: do not edit.

Written by tools/generate_models.py from msgraph-sdk 1.65.0 (Kiota's models of Graph's v1.0 metadata).
Read-only and navigation properties are not fields: a body naming one is refused, and the message says why.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from worker.models.base import ABSENT, DateTimeOffset, GraphModel
from worker.models.edm import Binary, Guid, Int64, TimeOfDay, flags_of

AutomaticRepliesStatus = Literal["disabled", "alwaysEnabled", "scheduled"]

DayOfWeek = Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

DelegateMeetingMessageDeliveryOptions = Literal[
    "sendToDelegateAndInformationToPrincipal", "sendToDelegateAndPrincipal", "sendToDelegateOnly"
]

ExternalAudienceScope = Literal["none", "contactsOnly", "all"]

GroupAccessType = Literal["none", "private", "secret", "public", "unknownFutureValue"]

NativeAuthenticationApisEnabled = Annotated[str, flags_of("none", "all", "unknownFutureValue")]

WeakAlgorithms = Annotated[str, flags_of("rsaSha1", "unknownFutureValue")]


class AssignedLicense(GraphModel):
    """microsoft.graph.assignedLicense."""

    odata_type_name: ClassVar[str] = "microsoft.graph.assignedLicense"
    odata_type: Literal["#microsoft.graph.assignedLicense", "microsoft.graph.assignedLicense"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    disabled_plans: list[Guid] | None = Field(default=None, alias="disabledPlans")
    sku_id: Guid | None = Field(default=None, alias="skuId")


class AuthorizationInfo(GraphModel):
    """microsoft.graph.authorizationInfo."""

    odata_type_name: ClassVar[str] = "microsoft.graph.authorizationInfo"
    odata_type: Literal["#microsoft.graph.authorizationInfo", "microsoft.graph.authorizationInfo"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    certificate_user_ids: list[str] | None = Field(default=None, alias="certificateUserIds")


class CustomSecurityAttributeValue(GraphModel):
    """microsoft.graph.customSecurityAttributeValue."""

    model_config = ConfigDict(extra="allow")  # declares no property: open, as Graph uses it
    odata_type_name: ClassVar[str] = "microsoft.graph.customSecurityAttributeValue"
    odata_type: Literal[
        "#microsoft.graph.customSecurityAttributeValue", "microsoft.graph.customSecurityAttributeValue"
    ] = Field(default=ABSENT, alias="@odata.type")


class EmployeeOrgData(GraphModel):
    """microsoft.graph.employeeOrgData."""

    odata_type_name: ClassVar[str] = "microsoft.graph.employeeOrgData"
    odata_type: Literal["#microsoft.graph.employeeOrgData", "microsoft.graph.employeeOrgData"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    cost_center: str | None = Field(default=None, alias="costCenter")
    division: str | None = Field(default=None, alias="division")


class ObjectIdentity(GraphModel):
    """microsoft.graph.objectIdentity."""

    odata_type_name: ClassVar[str] = "microsoft.graph.objectIdentity"
    odata_type: Literal["#microsoft.graph.objectIdentity", "microsoft.graph.objectIdentity"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    issuer: str | None = Field(default=None, alias="issuer")
    issuer_assigned_id: str | None = Field(default=None, alias="issuerAssignedId")
    sign_in_type: str | None = Field(default=None, alias="signInType")


class DateTimeTimeZone(GraphModel):
    """microsoft.graph.dateTimeTimeZone."""

    odata_type_name: ClassVar[str] = "microsoft.graph.dateTimeTimeZone"
    odata_type: Literal["#microsoft.graph.dateTimeTimeZone", "microsoft.graph.dateTimeTimeZone"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    date_time: str | None = Field(default=None, alias="dateTime")
    time_zone: str | None = Field(default=None, alias="timeZone")


class AutomaticRepliesSetting(GraphModel):
    """microsoft.graph.automaticRepliesSetting."""

    odata_type_name: ClassVar[str] = "microsoft.graph.automaticRepliesSetting"
    odata_type: Literal["#microsoft.graph.automaticRepliesSetting", "microsoft.graph.automaticRepliesSetting"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    external_audience: ExternalAudienceScope | None = Field(default=None, alias="externalAudience")
    external_reply_message: str | None = Field(default=None, alias="externalReplyMessage")
    internal_reply_message: str | None = Field(default=None, alias="internalReplyMessage")
    scheduled_end_date_time: DateTimeTimeZone | None = Field(default=None, alias="scheduledEndDateTime")
    scheduled_start_date_time: DateTimeTimeZone | None = Field(default=None, alias="scheduledStartDateTime")
    status: AutomaticRepliesStatus | None = Field(default=None, alias="status")


class LocaleInfo(GraphModel):
    """microsoft.graph.localeInfo."""

    odata_type_name: ClassVar[str] = "microsoft.graph.localeInfo"
    odata_type: Literal["#microsoft.graph.localeInfo", "microsoft.graph.localeInfo"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    display_name: str | None = Field(default=None, alias="displayName")
    locale: str | None = Field(default=None, alias="locale")


class TimeZoneBase(GraphModel):
    """microsoft.graph.timeZoneBase."""

    odata_type_name: ClassVar[str] = "microsoft.graph.timeZoneBase"
    odata_type: Literal["#microsoft.graph.timeZoneBase", "microsoft.graph.timeZoneBase"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    name: str | None = Field(default=None, alias="name")


class WorkingHours(GraphModel):
    """microsoft.graph.workingHours."""

    odata_type_name: ClassVar[str] = "microsoft.graph.workingHours"
    odata_type: Literal["#microsoft.graph.workingHours", "microsoft.graph.workingHours"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    days_of_week: list[DayOfWeek] | None = Field(default=None, alias="daysOfWeek")
    end_time: TimeOfDay | None = Field(default=None, alias="endTime")
    start_time: TimeOfDay | None = Field(default=None, alias="startTime")
    time_zone: TimeZoneBase | None = Field(default=None, alias="timeZone")


class MailboxSettings(GraphModel):
    """microsoft.graph.mailboxSettings."""

    odata_type_name: ClassVar[str] = "microsoft.graph.mailboxSettings"
    read_only: ClassVar[frozenset[str]] = frozenset({"userPurpose"})
    odata_type: Literal["#microsoft.graph.mailboxSettings", "microsoft.graph.mailboxSettings"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    archive_folder: str | None = Field(default=None, alias="archiveFolder")
    automatic_replies_setting: AutomaticRepliesSetting | None = Field(default=None, alias="automaticRepliesSetting")
    date_format: str | None = Field(default=None, alias="dateFormat")
    delegate_meeting_message_delivery_options: DelegateMeetingMessageDeliveryOptions | None = Field(
        default=None, alias="delegateMeetingMessageDeliveryOptions"
    )
    language: LocaleInfo | None = Field(default=None, alias="language")
    time_format: str | None = Field(default=None, alias="timeFormat")
    time_zone: str | None = Field(default=None, alias="timeZone")
    working_hours: WorkingHours | None = Field(default=None, alias="workingHours")


class OnPremisesExtensionAttributes(GraphModel):
    """microsoft.graph.onPremisesExtensionAttributes."""

    odata_type_name: ClassVar[str] = "microsoft.graph.onPremisesExtensionAttributes"
    odata_type: Literal[
        "#microsoft.graph.onPremisesExtensionAttributes", "microsoft.graph.onPremisesExtensionAttributes"
    ] = Field(default=ABSENT, alias="@odata.type")
    extension_attribute1: str | None = Field(default=None, alias="extensionAttribute1")
    extension_attribute10: str | None = Field(default=None, alias="extensionAttribute10")
    extension_attribute11: str | None = Field(default=None, alias="extensionAttribute11")
    extension_attribute12: str | None = Field(default=None, alias="extensionAttribute12")
    extension_attribute13: str | None = Field(default=None, alias="extensionAttribute13")
    extension_attribute14: str | None = Field(default=None, alias="extensionAttribute14")
    extension_attribute15: str | None = Field(default=None, alias="extensionAttribute15")
    extension_attribute2: str | None = Field(default=None, alias="extensionAttribute2")
    extension_attribute3: str | None = Field(default=None, alias="extensionAttribute3")
    extension_attribute4: str | None = Field(default=None, alias="extensionAttribute4")
    extension_attribute5: str | None = Field(default=None, alias="extensionAttribute5")
    extension_attribute6: str | None = Field(default=None, alias="extensionAttribute6")
    extension_attribute7: str | None = Field(default=None, alias="extensionAttribute7")
    extension_attribute8: str | None = Field(default=None, alias="extensionAttribute8")
    extension_attribute9: str | None = Field(default=None, alias="extensionAttribute9")


class OnPremisesProvisioningError(GraphModel):
    """microsoft.graph.onPremisesProvisioningError."""

    odata_type_name: ClassVar[str] = "microsoft.graph.onPremisesProvisioningError"
    odata_type: Literal[
        "#microsoft.graph.onPremisesProvisioningError", "microsoft.graph.onPremisesProvisioningError"
    ] = Field(default=ABSENT, alias="@odata.type")
    category: str | None = Field(default=None, alias="category")
    occurred_date_time: DateTimeOffset | None = Field(default=None, alias="occurredDateTime")
    property_causing_error: str | None = Field(default=None, alias="propertyCausingError")
    value: str | None = Field(default=None, alias="value")


class PasswordProfile(GraphModel):
    """microsoft.graph.passwordProfile."""

    odata_type_name: ClassVar[str] = "microsoft.graph.passwordProfile"
    odata_type: Literal["#microsoft.graph.passwordProfile", "microsoft.graph.passwordProfile"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    force_change_password_next_sign_in: bool | None = Field(default=None, alias="forceChangePasswordNextSignIn")
    force_change_password_next_sign_in_with_mfa: bool | None = Field(
        default=None, alias="forceChangePasswordNextSignInWithMfa"
    )
    password: str | None = Field(default=None, alias="password")


class UserPrint(GraphModel):
    """microsoft.graph.userPrint."""

    odata_type_name: ClassVar[str] = "microsoft.graph.userPrint"
    navigation: ClassVar[frozenset[str]] = frozenset({"recentPrinterShares"})
    odata_type: Literal["#microsoft.graph.userPrint", "microsoft.graph.userPrint"] = Field(
        default=ABSENT, alias="@odata.type"
    )


class ServiceProvisioningError(GraphModel):
    """microsoft.graph.serviceProvisioningError."""

    odata_type_name: ClassVar[str] = "microsoft.graph.serviceProvisioningError"
    odata_type: Literal["#microsoft.graph.serviceProvisioningError", "microsoft.graph.serviceProvisioningError"] = (
        Field(default=ABSENT, alias="@odata.type")
    )
    created_date_time: DateTimeOffset | None = Field(default=None, alias="createdDateTime")
    is_resolved: bool | None = Field(default=None, alias="isResolved")
    service_instance: str | None = Field(default=None, alias="serviceInstance")


class SignInActivity(GraphModel):
    """microsoft.graph.signInActivity."""

    odata_type_name: ClassVar[str] = "microsoft.graph.signInActivity"
    odata_type: Literal["#microsoft.graph.signInActivity", "microsoft.graph.signInActivity"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    last_non_interactive_sign_in_date_time: DateTimeOffset | None = Field(
        default=None, alias="lastNonInteractiveSignInDateTime"
    )
    last_non_interactive_sign_in_request_id: str | None = Field(default=None, alias="lastNonInteractiveSignInRequestId")
    last_sign_in_date_time: DateTimeOffset | None = Field(default=None, alias="lastSignInDateTime")
    last_sign_in_request_id: str | None = Field(default=None, alias="lastSignInRequestId")
    last_successful_sign_in_date_time: DateTimeOffset | None = Field(default=None, alias="lastSuccessfulSignInDateTime")
    last_successful_sign_in_request_id: str | None = Field(default=None, alias="lastSuccessfulSignInRequestId")


class User(GraphModel):
    """microsoft.graph.user."""

    odata_type_name: ClassVar[str] = "microsoft.graph.user"
    directory_extensions: ClassVar[bool] = True
    read_only: ClassVar[frozenset[str]] = frozenset(
        {
            "assignedPlans",
            "createdDateTime",
            "id",
            "imAddresses",
            "isManagementRestricted",
            "licenseAssignmentStates",
            "onPremisesDistinguishedName",
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
            "onPremisesSamAccountName",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "onPremisesUserPrincipalName",
            "provisionedPlans",
            "securityIdentifier",
            "signInSessionsValidFromDateTime",
        }
    )
    navigation: ClassVar[frozenset[str]] = frozenset(
        {
            "activities",
            "adhocCalls",
            "agreementAcceptances",
            "appRoleAssignments",
            "authentication",
            "calendar",
            "calendarGroups",
            "calendarView",
            "calendars",
            "chats",
            "cloudClipboard",
            "cloudPCs",
            "contactFolders",
            "contacts",
            "createdObjects",
            "dataSecurityAndGovernance",
            "deviceManagementTroubleshootingEvents",
            "directReports",
            "drive",
            "drives",
            "employeeExperience",
            "events",
            "extensions",
            "followedSites",
            "inferenceClassification",
            "insights",
            "joinedTeams",
            "licenseDetails",
            "mailFolders",
            "managedAppRegistrations",
            "managedDevices",
            "manager",
            "memberOf",
            "messages",
            "notes",
            "oauth2PermissionGrants",
            "onPremisesSyncBehavior",
            "onenote",
            "onlineMeetings",
            "outlook",
            "ownedDevices",
            "ownedObjects",
            "people",
            "permissionGrants",
            "photo",
            "photos",
            "planner",
            "presence",
            "registeredDevices",
            "scopedRoleMemberOf",
            "settings",
            "solutions",
            "sponsorOf",
            "sponsors",
            "teamwork",
            "todo",
            "transitiveMemberOf",
        }
    )
    odata_type: Literal["#microsoft.graph.user", "microsoft.graph.user"] = Field(default=ABSENT, alias="@odata.type")
    about_me: str | None = Field(default=None, alias="aboutMe")
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    age_group: str | None = Field(default=None, alias="ageGroup")
    assigned_licenses: list[AssignedLicense] | None = Field(default=None, alias="assignedLicenses")
    authorization_info: AuthorizationInfo | None = Field(default=None, alias="authorizationInfo")
    birthday: DateTimeOffset | None = Field(default=None, alias="birthday")
    business_phones: list[str] | None = Field(default=None, alias="businessPhones")
    city: str | None = Field(default=None, alias="city")
    company_name: str | None = Field(default=None, alias="companyName")
    consent_provided_for_minor: str | None = Field(default=None, alias="consentProvidedForMinor")
    country: str | None = Field(default=None, alias="country")
    creation_type: str | None = Field(default=None, alias="creationType")
    custom_security_attributes: CustomSecurityAttributeValue | None = Field(
        default=None, alias="customSecurityAttributes"
    )
    department: str | None = Field(default=None, alias="department")
    device_enrollment_limit: Int64 | None = Field(default=None, alias="deviceEnrollmentLimit")
    display_name: str | None = Field(default=None, alias="displayName")
    employee_hire_date: DateTimeOffset | None = Field(default=None, alias="employeeHireDate")
    employee_id: str | None = Field(default=None, alias="employeeId")
    employee_leave_date_time: DateTimeOffset | None = Field(default=None, alias="employeeLeaveDateTime")
    employee_org_data: EmployeeOrgData | None = Field(default=None, alias="employeeOrgData")
    employee_type: str | None = Field(default=None, alias="employeeType")
    external_user_state: str | None = Field(default=None, alias="externalUserState")
    external_user_state_change_date_time: DateTimeOffset | None = Field(
        default=None, alias="externalUserStateChangeDateTime"
    )
    fax_number: str | None = Field(default=None, alias="faxNumber")
    given_name: str | None = Field(default=None, alias="givenName")
    hire_date: DateTimeOffset | None = Field(default=None, alias="hireDate")
    identities: list[ObjectIdentity] | None = Field(default=None, alias="identities")
    identity_parent_id: str | None = Field(default=None, alias="identityParentId")
    interests: list[str] | None = Field(default=None, alias="interests")
    is_resource_account: bool | None = Field(default=None, alias="isResourceAccount")
    job_title: str | None = Field(default=None, alias="jobTitle")
    last_password_change_date_time: DateTimeOffset | None = Field(default=None, alias="lastPasswordChangeDateTime")
    legal_age_group_classification: str | None = Field(default=None, alias="legalAgeGroupClassification")
    mail: str | None = Field(default=None, alias="mail")
    mail_nickname: str | None = Field(default=None, alias="mailNickname")
    mailbox_settings: MailboxSettings | None = Field(default=None, alias="mailboxSettings")
    mobile_phone: str | None = Field(default=None, alias="mobilePhone")
    my_site: str | None = Field(default=None, alias="mySite")
    office_location: str | None = Field(default=None, alias="officeLocation")
    on_premises_extension_attributes: OnPremisesExtensionAttributes | None = Field(
        default=None, alias="onPremisesExtensionAttributes"
    )
    on_premises_immutable_id: str | None = Field(default=None, alias="onPremisesImmutableId")
    on_premises_provisioning_errors: list[OnPremisesProvisioningError] | None = Field(
        default=None, alias="onPremisesProvisioningErrors"
    )
    other_mails: list[str] | None = Field(default=None, alias="otherMails")
    password_policies: str | None = Field(default=None, alias="passwordPolicies")
    password_profile: PasswordProfile | None = Field(default=None, alias="passwordProfile")
    past_projects: list[str] | None = Field(default=None, alias="pastProjects")
    postal_code: str | None = Field(default=None, alias="postalCode")
    preferred_data_location: str | None = Field(default=None, alias="preferredDataLocation")
    preferred_language: str | None = Field(default=None, alias="preferredLanguage")
    preferred_name: str | None = Field(default=None, alias="preferredName")
    print: UserPrint | None = Field(default=None, alias="print")
    proxy_addresses: list[str] | None = Field(default=None, alias="proxyAddresses")
    responsibilities: list[str] | None = Field(default=None, alias="responsibilities")
    schools: list[str] | None = Field(default=None, alias="schools")
    service_provisioning_errors: list[ServiceProvisioningError] | None = Field(
        default=None, alias="serviceProvisioningErrors"
    )
    show_in_address_list: bool | None = Field(default=None, alias="showInAddressList")
    sign_in_activity: SignInActivity | None = Field(default=None, alias="signInActivity")
    skills: list[str] | None = Field(default=None, alias="skills")
    state: str | None = Field(default=None, alias="state")
    street_address: str | None = Field(default=None, alias="streetAddress")
    surname: str | None = Field(default=None, alias="surname")
    usage_location: str | None = Field(default=None, alias="usageLocation")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")
    user_type: str | None = Field(default=None, alias="userType")
    deleted_date_time: DateTimeOffset | None = Field(default=None, alias="deletedDateTime")


class AssignedLabel(GraphModel):
    """microsoft.graph.assignedLabel."""

    odata_type_name: ClassVar[str] = "microsoft.graph.assignedLabel"
    read_only: ClassVar[frozenset[str]] = frozenset({"displayName"})
    odata_type: Literal["#microsoft.graph.assignedLabel", "microsoft.graph.assignedLabel"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    label_id: str | None = Field(default=None, alias="labelId")


class Group(GraphModel):
    """microsoft.graph.group."""

    odata_type_name: ClassVar[str] = "microsoft.graph.group"
    directory_extensions: ClassVar[bool] = True
    read_only: ClassVar[frozenset[str]] = frozenset(
        {
            "assignedLicenses",
            "createdDateTime",
            "expirationDateTime",
            "id",
            "isManagementRestricted",
            "licenseProcessingState",
            "mail",
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
            "onPremisesNetBiosName",
            "onPremisesSamAccountName",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "proxyAddresses",
            "renewedDateTime",
            "securityIdentifier",
            "uniqueName",
        }
    )
    navigation: ClassVar[frozenset[str]] = frozenset(
        {
            "acceptedSenders",
            "appRoleAssignments",
            "calendar",
            "calendarView",
            "conversations",
            "createdOnBehalfOf",
            "drive",
            "drives",
            "events",
            "extensions",
            "groupLifecyclePolicies",
            "memberOf",
            "members",
            "membersWithLicenseErrors",
            "onPremisesSyncBehavior",
            "onenote",
            "owners",
            "permissionGrants",
            "photo",
            "photos",
            "planner",
            "rejectedSenders",
            "settings",
            "sites",
            "team",
            "threads",
            "transitiveMemberOf",
            "transitiveMembers",
        }
    )
    odata_type: Literal["#microsoft.graph.group", "microsoft.graph.group"] = Field(default=ABSENT, alias="@odata.type")
    access_type: GroupAccessType | None = Field(default=None, alias="accessType")
    allow_external_senders: bool | None = Field(default=None, alias="allowExternalSenders")
    assigned_labels: list[AssignedLabel] | None = Field(default=None, alias="assignedLabels")
    auto_subscribe_new_members: bool | None = Field(default=None, alias="autoSubscribeNewMembers")
    classification: str | None = Field(default=None, alias="classification")
    description: str | None = Field(default=None, alias="description")
    display_name: str | None = Field(default=None, alias="displayName")
    group_types: list[str] | None = Field(default=None, alias="groupTypes")
    has_members_with_license_errors: bool | None = Field(default=None, alias="hasMembersWithLicenseErrors")
    hide_from_address_lists: bool | None = Field(default=None, alias="hideFromAddressLists")
    hide_from_outlook_clients: bool | None = Field(default=None, alias="hideFromOutlookClients")
    info_catalogs: list[str] | None = Field(default=None, alias="infoCatalogs")
    is_archived: bool | None = Field(default=None, alias="isArchived")
    is_assignable_to_role: bool | None = Field(default=None, alias="isAssignableToRole")
    is_favorite: bool | None = Field(default=None, alias="isFavorite")
    is_subscribed_by_mail: bool | None = Field(default=None, alias="isSubscribedByMail")
    mail_enabled: bool | None = Field(default=None, alias="mailEnabled")
    mail_nickname: str | None = Field(default=None, alias="mailNickname")
    membership_rule: str | None = Field(default=None, alias="membershipRule")
    membership_rule_processing_state: str | None = Field(default=None, alias="membershipRuleProcessingState")
    on_premises_extension_attributes: OnPremisesExtensionAttributes | None = Field(
        default=None, alias="onPremisesExtensionAttributes"
    )
    on_premises_provisioning_errors: list[OnPremisesProvisioningError] | None = Field(
        default=None, alias="onPremisesProvisioningErrors"
    )
    organization_id: str | None = Field(default=None, alias="organizationId")
    preferred_data_location: str | None = Field(default=None, alias="preferredDataLocation")
    preferred_language: str | None = Field(default=None, alias="preferredLanguage")
    resource_behavior_options: list[str] | None = Field(default=None, alias="resourceBehaviorOptions")
    resource_provisioning_options: list[str] | None = Field(default=None, alias="resourceProvisioningOptions")
    security_enabled: bool | None = Field(default=None, alias="securityEnabled")
    service_provisioning_errors: list[ServiceProvisioningError] | None = Field(
        default=None, alias="serviceProvisioningErrors"
    )
    theme: str | None = Field(default=None, alias="theme")
    unseen_conversations_count: Int64 | None = Field(default=None, alias="unseenConversationsCount")
    unseen_count: Int64 | None = Field(default=None, alias="unseenCount")
    unseen_messages_count: Int64 | None = Field(default=None, alias="unseenMessagesCount")
    visibility: str | None = Field(default=None, alias="visibility")
    welcome_message_enabled: bool | None = Field(default=None, alias="welcomeMessageEnabled")
    deleted_date_time: DateTimeOffset | None = Field(default=None, alias="deletedDateTime")


class AlternativeSecurityId(GraphModel):
    """microsoft.graph.alternativeSecurityId."""

    odata_type_name: ClassVar[str] = "microsoft.graph.alternativeSecurityId"
    odata_type: Literal["#microsoft.graph.alternativeSecurityId", "microsoft.graph.alternativeSecurityId"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    identity_provider: str | None = Field(default=None, alias="identityProvider")
    key: Binary | None = Field(default=None, alias="key")
    type: Int64 | None = Field(default=None, alias="type")


class Device(GraphModel):
    """microsoft.graph.device."""

    odata_type_name: ClassVar[str] = "microsoft.graph.device"
    directory_extensions: ClassVar[bool] = True
    read_only: ClassVar[frozenset[str]] = frozenset(
        {
            "approximateLastSignInDateTime",
            "complianceExpirationDateTime",
            "id",
            "isCompliant",
            "isManagementRestricted",
            "manufacturer",
            "mdmAppId",
            "model",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "registrationDateTime",
            "trustType",
        }
    )
    navigation: ClassVar[frozenset[str]] = frozenset(
        {"extensions", "memberOf", "registeredOwners", "registeredUsers", "transitiveMemberOf"}
    )
    odata_type: Literal["#microsoft.graph.device", "microsoft.graph.device"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    alternative_security_ids: list[AlternativeSecurityId] | None = Field(default=None, alias="alternativeSecurityIds")
    device_category: str | None = Field(default=None, alias="deviceCategory")
    device_id: str | None = Field(default=None, alias="deviceId")
    device_metadata: str | None = Field(default=None, alias="deviceMetadata")
    device_ownership: str | None = Field(default=None, alias="deviceOwnership")
    device_version: Int64 | None = Field(default=None, alias="deviceVersion")
    display_name: str | None = Field(default=None, alias="displayName")
    enrollment_profile_name: str | None = Field(default=None, alias="enrollmentProfileName")
    enrollment_type: str | None = Field(default=None, alias="enrollmentType")
    is_managed: bool | None = Field(default=None, alias="isManaged")
    is_rooted: bool | None = Field(default=None, alias="isRooted")
    management_type: str | None = Field(default=None, alias="managementType")
    on_premises_last_sync_date_time: DateTimeOffset | None = Field(default=None, alias="onPremisesLastSyncDateTime")
    operating_system: str | None = Field(default=None, alias="operatingSystem")
    operating_system_version: str | None = Field(default=None, alias="operatingSystemVersion")
    physical_ids: list[str] | None = Field(default=None, alias="physicalIds")
    profile_type: str | None = Field(default=None, alias="profileType")
    system_labels: list[str] | None = Field(default=None, alias="systemLabels")
    deleted_date_time: DateTimeOffset | None = Field(default=None, alias="deletedDateTime")


class KeyValue(GraphModel):
    """microsoft.graph.keyValue."""

    odata_type_name: ClassVar[str] = "microsoft.graph.keyValue"
    odata_type: Literal["#microsoft.graph.keyValue", "microsoft.graph.keyValue"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    key: str | None = Field(default=None, alias="key")
    value: str | None = Field(default=None, alias="value")


class AddIn(GraphModel):
    """microsoft.graph.addIn."""

    odata_type_name: ClassVar[str] = "microsoft.graph.addIn"
    odata_type: Literal["#microsoft.graph.addIn", "microsoft.graph.addIn"] = Field(default=ABSENT, alias="@odata.type")
    id: Guid | None = Field(default=None, alias="id")
    properties: list[KeyValue] | None = Field(default=None, alias="properties")
    type: str | None = Field(default=None, alias="type")


class PermissionScope(GraphModel):
    """microsoft.graph.permissionScope."""

    odata_type_name: ClassVar[str] = "microsoft.graph.permissionScope"
    odata_type: Literal["#microsoft.graph.permissionScope", "microsoft.graph.permissionScope"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    admin_consent_description: str | None = Field(default=None, alias="adminConsentDescription")
    admin_consent_display_name: str | None = Field(default=None, alias="adminConsentDisplayName")
    id: Guid | None = Field(default=None, alias="id")
    is_enabled: bool | None = Field(default=None, alias="isEnabled")
    origin: str | None = Field(default=None, alias="origin")
    type: str | None = Field(default=None, alias="type")
    user_consent_description: str | None = Field(default=None, alias="userConsentDescription")
    user_consent_display_name: str | None = Field(default=None, alias="userConsentDisplayName")
    value: str | None = Field(default=None, alias="value")


class PreAuthorizedApplication(GraphModel):
    """microsoft.graph.preAuthorizedApplication."""

    odata_type_name: ClassVar[str] = "microsoft.graph.preAuthorizedApplication"
    odata_type: Literal["#microsoft.graph.preAuthorizedApplication", "microsoft.graph.preAuthorizedApplication"] = (
        Field(default=ABSENT, alias="@odata.type")
    )
    app_id: str | None = Field(default=None, alias="appId")
    delegated_permission_ids: list[str] | None = Field(default=None, alias="delegatedPermissionIds")


class ApiApplication(GraphModel):
    """microsoft.graph.apiApplication."""

    odata_type_name: ClassVar[str] = "microsoft.graph.apiApplication"
    odata_type: Literal["#microsoft.graph.apiApplication", "microsoft.graph.apiApplication"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    accept_mapped_claims: bool | None = Field(default=None, alias="acceptMappedClaims")
    known_client_applications: list[Guid] | None = Field(default=None, alias="knownClientApplications")
    oauth2_permission_scopes: list[PermissionScope] | None = Field(default=None, alias="oauth2PermissionScopes")
    pre_authorized_applications: list[PreAuthorizedApplication] | None = Field(
        default=None, alias="preAuthorizedApplications"
    )
    requested_access_token_version: Int64 | None = Field(default=None, alias="requestedAccessTokenVersion")


class AppRole(GraphModel):
    """microsoft.graph.appRole."""

    odata_type_name: ClassVar[str] = "microsoft.graph.appRole"
    read_only: ClassVar[frozenset[str]] = frozenset({"origin"})
    odata_type: Literal["#microsoft.graph.appRole", "microsoft.graph.appRole"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    allowed_member_types: list[str] | None = Field(default=None, alias="allowedMemberTypes")
    description: str | None = Field(default=None, alias="description")
    display_name: str | None = Field(default=None, alias="displayName")
    id: Guid | None = Field(default=None, alias="id")
    is_enabled: bool | None = Field(default=None, alias="isEnabled")
    value: str | None = Field(default=None, alias="value")


class AuthenticationBehaviors(GraphModel):
    """microsoft.graph.authenticationBehaviors."""

    odata_type_name: ClassVar[str] = "microsoft.graph.authenticationBehaviors"
    odata_type: Literal["#microsoft.graph.authenticationBehaviors", "microsoft.graph.authenticationBehaviors"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    block_azure_a_d_graph_access: bool | None = Field(default=None, alias="blockAzureADGraphAccess")
    coop_enforcement: bool | None = Field(default=None, alias="coopEnforcement")
    remove_unverified_email_claim: bool | None = Field(default=None, alias="removeUnverifiedEmailClaim")
    require_client_service_principal: bool | None = Field(default=None, alias="requireClientServicePrincipal")


class Certification(GraphModel):
    """microsoft.graph.certification."""

    odata_type_name: ClassVar[str] = "microsoft.graph.certification"
    odata_type: Literal["#microsoft.graph.certification", "microsoft.graph.certification"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    certification_details_url: str | None = Field(default=None, alias="certificationDetailsUrl")
    certification_expiration_date_time: DateTimeOffset | None = Field(
        default=None, alias="certificationExpirationDateTime"
    )
    is_certified_by_microsoft: bool | None = Field(default=None, alias="isCertifiedByMicrosoft")
    is_publisher_attested: bool | None = Field(default=None, alias="isPublisherAttested")
    last_certification_date_time: DateTimeOffset | None = Field(default=None, alias="lastCertificationDateTime")


class InformationalUrl(GraphModel):
    """microsoft.graph.informationalUrl."""

    odata_type_name: ClassVar[str] = "microsoft.graph.informationalUrl"
    odata_type: Literal["#microsoft.graph.informationalUrl", "microsoft.graph.informationalUrl"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    logo_url: str | None = Field(default=None, alias="logoUrl")
    marketing_url: str | None = Field(default=None, alias="marketingUrl")
    privacy_statement_url: str | None = Field(default=None, alias="privacyStatementUrl")
    support_url: str | None = Field(default=None, alias="supportUrl")
    terms_of_service_url: str | None = Field(default=None, alias="termsOfServiceUrl")


class KeyCredential(GraphModel):
    """microsoft.graph.keyCredential."""

    odata_type_name: ClassVar[str] = "microsoft.graph.keyCredential"
    odata_type: Literal["#microsoft.graph.keyCredential", "microsoft.graph.keyCredential"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    custom_key_identifier: Binary | None = Field(default=None, alias="customKeyIdentifier")
    display_name: str | None = Field(default=None, alias="displayName")
    end_date_time: DateTimeOffset | None = Field(default=None, alias="endDateTime")
    key: Binary | None = Field(default=None, alias="key")
    key_id: Guid | None = Field(default=None, alias="keyId")
    start_date_time: DateTimeOffset | None = Field(default=None, alias="startDateTime")
    type: str | None = Field(default=None, alias="type")
    usage: str | None = Field(default=None, alias="usage")


class OptionalClaim(GraphModel):
    """microsoft.graph.optionalClaim."""

    odata_type_name: ClassVar[str] = "microsoft.graph.optionalClaim"
    odata_type: Literal["#microsoft.graph.optionalClaim", "microsoft.graph.optionalClaim"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    additional_properties: list[str] | None = Field(default=None, alias="additionalProperties")
    essential: bool | None = Field(default=None, alias="essential")
    name: str | None = Field(default=None, alias="name")
    source: str | None = Field(default=None, alias="source")


class OptionalClaims(GraphModel):
    """microsoft.graph.optionalClaims."""

    odata_type_name: ClassVar[str] = "microsoft.graph.optionalClaims"
    odata_type: Literal["#microsoft.graph.optionalClaims", "microsoft.graph.optionalClaims"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    access_token: list[OptionalClaim] | None = Field(default=None, alias="accessToken")
    id_token: list[OptionalClaim] | None = Field(default=None, alias="idToken")
    saml2_token: list[OptionalClaim] | None = Field(default=None, alias="saml2Token")


class ParentalControlSettings(GraphModel):
    """microsoft.graph.parentalControlSettings."""

    odata_type_name: ClassVar[str] = "microsoft.graph.parentalControlSettings"
    odata_type: Literal["#microsoft.graph.parentalControlSettings", "microsoft.graph.parentalControlSettings"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    countries_blocked_for_minors: list[str] | None = Field(default=None, alias="countriesBlockedForMinors")
    legal_age_group_rule: str | None = Field(default=None, alias="legalAgeGroupRule")


class PasswordCredential(GraphModel):
    """microsoft.graph.passwordCredential."""

    odata_type_name: ClassVar[str] = "microsoft.graph.passwordCredential"
    read_only: ClassVar[frozenset[str]] = frozenset({"hint"})
    odata_type: Literal["#microsoft.graph.passwordCredential", "microsoft.graph.passwordCredential"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    custom_key_identifier: Binary | None = Field(default=None, alias="customKeyIdentifier")
    display_name: str | None = Field(default=None, alias="displayName")
    end_date_time: DateTimeOffset | None = Field(default=None, alias="endDateTime")
    key_id: Guid | None = Field(default=None, alias="keyId")
    secret_text: str | None = Field(default=None, alias="secretText")
    start_date_time: DateTimeOffset | None = Field(default=None, alias="startDateTime")


class PublicClientApplication(GraphModel):
    """microsoft.graph.publicClientApplication."""

    odata_type_name: ClassVar[str] = "microsoft.graph.publicClientApplication"
    odata_type: Literal["#microsoft.graph.publicClientApplication", "microsoft.graph.publicClientApplication"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    redirect_uris: list[str] | None = Field(default=None, alias="redirectUris")


class RequestSignatureVerification(GraphModel):
    """microsoft.graph.requestSignatureVerification."""

    odata_type_name: ClassVar[str] = "microsoft.graph.requestSignatureVerification"
    odata_type: Literal[
        "#microsoft.graph.requestSignatureVerification", "microsoft.graph.requestSignatureVerification"
    ] = Field(default=ABSENT, alias="@odata.type")
    allowed_weak_algorithms: WeakAlgorithms | None = Field(default=None, alias="allowedWeakAlgorithms")
    is_signed_request_required: bool | None = Field(default=None, alias="isSignedRequestRequired")


class ResourceAccess(GraphModel):
    """microsoft.graph.resourceAccess."""

    odata_type_name: ClassVar[str] = "microsoft.graph.resourceAccess"
    odata_type: Literal["#microsoft.graph.resourceAccess", "microsoft.graph.resourceAccess"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    id: Guid | None = Field(default=None, alias="id")
    type: str | None = Field(default=None, alias="type")


class RequiredResourceAccess(GraphModel):
    """microsoft.graph.requiredResourceAccess."""

    odata_type_name: ClassVar[str] = "microsoft.graph.requiredResourceAccess"
    odata_type: Literal["#microsoft.graph.requiredResourceAccess", "microsoft.graph.requiredResourceAccess"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    resource_access: list[ResourceAccess] | None = Field(default=None, alias="resourceAccess")
    resource_app_id: str | None = Field(default=None, alias="resourceAppId")


class ServicePrincipalLockConfiguration(GraphModel):
    """microsoft.graph.servicePrincipalLockConfiguration."""

    odata_type_name: ClassVar[str] = "microsoft.graph.servicePrincipalLockConfiguration"
    odata_type: Literal[
        "#microsoft.graph.servicePrincipalLockConfiguration", "microsoft.graph.servicePrincipalLockConfiguration"
    ] = Field(default=ABSENT, alias="@odata.type")
    all_properties: bool | None = Field(default=None, alias="allProperties")
    credentials_with_usage_sign: bool | None = Field(default=None, alias="credentialsWithUsageSign")
    credentials_with_usage_verify: bool | None = Field(default=None, alias="credentialsWithUsageVerify")
    is_enabled: bool | None = Field(default=None, alias="isEnabled")
    token_encryption_key_id: bool | None = Field(default=None, alias="tokenEncryptionKeyId")


class SpaApplication(GraphModel):
    """microsoft.graph.spaApplication."""

    odata_type_name: ClassVar[str] = "microsoft.graph.spaApplication"
    odata_type: Literal["#microsoft.graph.spaApplication", "microsoft.graph.spaApplication"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    redirect_uris: list[str] | None = Field(default=None, alias="redirectUris")


class VerifiedPublisher(GraphModel):
    """microsoft.graph.verifiedPublisher."""

    odata_type_name: ClassVar[str] = "microsoft.graph.verifiedPublisher"
    odata_type: Literal["#microsoft.graph.verifiedPublisher", "microsoft.graph.verifiedPublisher"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    added_date_time: DateTimeOffset | None = Field(default=None, alias="addedDateTime")
    display_name: str | None = Field(default=None, alias="displayName")
    verified_publisher_id: str | None = Field(default=None, alias="verifiedPublisherId")


class ImplicitGrantSettings(GraphModel):
    """microsoft.graph.implicitGrantSettings."""

    odata_type_name: ClassVar[str] = "microsoft.graph.implicitGrantSettings"
    odata_type: Literal["#microsoft.graph.implicitGrantSettings", "microsoft.graph.implicitGrantSettings"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    enable_access_token_issuance: bool | None = Field(default=None, alias="enableAccessTokenIssuance")
    enable_id_token_issuance: bool | None = Field(default=None, alias="enableIdTokenIssuance")


class RedirectUriSettings(GraphModel):
    """microsoft.graph.redirectUriSettings."""

    odata_type_name: ClassVar[str] = "microsoft.graph.redirectUriSettings"
    odata_type: Literal["#microsoft.graph.redirectUriSettings", "microsoft.graph.redirectUriSettings"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    index: Int64 | None = Field(default=None, alias="index")
    uri: str | None = Field(default=None, alias="uri")


class WebApplication(GraphModel):
    """microsoft.graph.webApplication."""

    odata_type_name: ClassVar[str] = "microsoft.graph.webApplication"
    odata_type: Literal["#microsoft.graph.webApplication", "microsoft.graph.webApplication"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    home_page_url: str | None = Field(default=None, alias="homePageUrl")
    implicit_grant_settings: ImplicitGrantSettings | None = Field(default=None, alias="implicitGrantSettings")
    logout_url: str | None = Field(default=None, alias="logoutUrl")
    redirect_uri_settings: list[RedirectUriSettings] | None = Field(default=None, alias="redirectUriSettings")
    redirect_uris: list[str] | None = Field(default=None, alias="redirectUris")


class Application(GraphModel):
    """microsoft.graph.application."""

    odata_type_name: ClassVar[str] = "microsoft.graph.application"
    directory_extensions: ClassVar[bool] = True
    read_only: ClassVar[frozenset[str]] = frozenset(
        {"appId", "applicationTemplateId", "createdByAppId", "createdDateTime", "id", "publisherDomain", "uniqueName"}
    )
    navigation: ClassVar[frozenset[str]] = frozenset(
        {
            "appManagementPolicies",
            "createdOnBehalfOf",
            "extensionProperties",
            "federatedIdentityCredentials",
            "homeRealmDiscoveryPolicies",
            "owners",
            "synchronization",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
        }
    )
    odata_type: Literal["#microsoft.graph.application", "microsoft.graph.application"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    add_ins: list[AddIn] | None = Field(default=None, alias="addIns")
    api: ApiApplication | None = Field(default=None, alias="api")
    app_roles: list[AppRole] | None = Field(default=None, alias="appRoles")
    authentication_behaviors: AuthenticationBehaviors | None = Field(default=None, alias="authenticationBehaviors")
    certification: Certification | None = Field(default=None, alias="certification")
    default_redirect_uri: str | None = Field(default=None, alias="defaultRedirectUri")
    description: str | None = Field(default=None, alias="description")
    disabled_by_microsoft_status: str | None = Field(default=None, alias="disabledByMicrosoftStatus")
    display_name: str | None = Field(default=None, alias="displayName")
    group_membership_claims: str | None = Field(default=None, alias="groupMembershipClaims")
    identifier_uris: list[str] | None = Field(default=None, alias="identifierUris")
    info: InformationalUrl | None = Field(default=None, alias="info")
    is_device_only_auth_supported: bool | None = Field(default=None, alias="isDeviceOnlyAuthSupported")
    is_disabled: bool | None = Field(default=None, alias="isDisabled")
    is_fallback_public_client: bool | None = Field(default=None, alias="isFallbackPublicClient")
    key_credentials: list[KeyCredential] | None = Field(default=None, alias="keyCredentials")
    logo: Binary | None = Field(default=None, alias="logo")
    manager_applications: list[Guid] | None = Field(default=None, alias="managerApplications")
    native_authentication_apis_enabled: NativeAuthenticationApisEnabled | None = Field(
        default=None, alias="nativeAuthenticationApisEnabled"
    )
    notes: str | None = Field(default=None, alias="notes")
    oauth2_require_post_response: bool | None = Field(default=None, alias="oauth2RequirePostResponse")
    optional_claims: OptionalClaims | None = Field(default=None, alias="optionalClaims")
    parental_control_settings: ParentalControlSettings | None = Field(default=None, alias="parentalControlSettings")
    password_credentials: list[PasswordCredential] | None = Field(default=None, alias="passwordCredentials")
    public_client: PublicClientApplication | None = Field(default=None, alias="publicClient")
    request_signature_verification: RequestSignatureVerification | None = Field(
        default=None, alias="requestSignatureVerification"
    )
    required_resource_access: list[RequiredResourceAccess] | None = Field(default=None, alias="requiredResourceAccess")
    saml_metadata_url: str | None = Field(default=None, alias="samlMetadataUrl")
    service_management_reference: str | None = Field(default=None, alias="serviceManagementReference")
    service_principal_lock_configuration: ServicePrincipalLockConfiguration | None = Field(
        default=None, alias="servicePrincipalLockConfiguration"
    )
    sign_in_audience: str | None = Field(default=None, alias="signInAudience")
    spa: SpaApplication | None = Field(default=None, alias="spa")
    tags: list[str] | None = Field(default=None, alias="tags")
    token_encryption_key_id: Guid | None = Field(default=None, alias="tokenEncryptionKeyId")
    verified_publisher: VerifiedPublisher | None = Field(default=None, alias="verifiedPublisher")
    web: WebApplication | None = Field(default=None, alias="web")
    deleted_date_time: DateTimeOffset | None = Field(default=None, alias="deletedDateTime")


class SamlSingleSignOnSettings(GraphModel):
    """microsoft.graph.samlSingleSignOnSettings."""

    odata_type_name: ClassVar[str] = "microsoft.graph.samlSingleSignOnSettings"
    odata_type: Literal["#microsoft.graph.samlSingleSignOnSettings", "microsoft.graph.samlSingleSignOnSettings"] = (
        Field(default=ABSENT, alias="@odata.type")
    )
    relay_state: str | None = Field(default=None, alias="relayState")


class ServicePrincipal(GraphModel):
    """microsoft.graph.servicePrincipal."""

    odata_type_name: ClassVar[str] = "microsoft.graph.servicePrincipal"
    directory_extensions: ClassVar[bool] = True
    read_only: ClassVar[frozenset[str]] = frozenset(
        {"applicationTemplateId", "createdByAppId", "id", "resourceSpecificApplicationPermissions", "signInAudience"}
    )
    navigation: ClassVar[frozenset[str]] = frozenset(
        {
            "appManagementPolicies",
            "appRoleAssignedTo",
            "appRoleAssignments",
            "claimsMappingPolicies",
            "createdObjects",
            "delegatedPermissionClassifications",
            "endpoints",
            "federatedIdentityCredentials",
            "homeRealmDiscoveryPolicies",
            "memberOf",
            "oauth2PermissionGrants",
            "ownedObjects",
            "owners",
            "remoteDesktopSecurityConfiguration",
            "synchronization",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
            "transitiveMemberOf",
        }
    )
    odata_type: Literal["#microsoft.graph.servicePrincipal", "microsoft.graph.servicePrincipal"] = Field(
        default=ABSENT, alias="@odata.type"
    )
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    add_ins: list[AddIn] | None = Field(default=None, alias="addIns")
    alternative_names: list[str] | None = Field(default=None, alias="alternativeNames")
    app_description: str | None = Field(default=None, alias="appDescription")
    app_display_name: str | None = Field(default=None, alias="appDisplayName")
    app_id: str | None = Field(default=None, alias="appId")
    app_owner_organization_id: Guid | None = Field(default=None, alias="appOwnerOrganizationId")
    app_role_assignment_required: bool | None = Field(default=None, alias="appRoleAssignmentRequired")
    app_roles: list[AppRole] | None = Field(default=None, alias="appRoles")
    custom_security_attributes: CustomSecurityAttributeValue | None = Field(
        default=None, alias="customSecurityAttributes"
    )
    description: str | None = Field(default=None, alias="description")
    disabled_by_microsoft_status: str | None = Field(default=None, alias="disabledByMicrosoftStatus")
    display_name: str | None = Field(default=None, alias="displayName")
    homepage: str | None = Field(default=None, alias="homepage")
    info: InformationalUrl | None = Field(default=None, alias="info")
    is_disabled: bool | None = Field(default=None, alias="isDisabled")
    key_credentials: list[KeyCredential] | None = Field(default=None, alias="keyCredentials")
    login_url: str | None = Field(default=None, alias="loginUrl")
    logout_url: str | None = Field(default=None, alias="logoutUrl")
    notes: str | None = Field(default=None, alias="notes")
    notification_email_addresses: list[str] | None = Field(default=None, alias="notificationEmailAddresses")
    oauth2_permission_scopes: list[PermissionScope] | None = Field(default=None, alias="oauth2PermissionScopes")
    password_credentials: list[PasswordCredential] | None = Field(default=None, alias="passwordCredentials")
    preferred_single_sign_on_mode: str | None = Field(default=None, alias="preferredSingleSignOnMode")
    preferred_token_signing_key_thumbprint: str | None = Field(default=None, alias="preferredTokenSigningKeyThumbprint")
    reply_urls: list[str] | None = Field(default=None, alias="replyUrls")
    saml_single_sign_on_settings: SamlSingleSignOnSettings | None = Field(
        default=None, alias="samlSingleSignOnSettings"
    )
    service_principal_names: list[str] | None = Field(default=None, alias="servicePrincipalNames")
    service_principal_type: str | None = Field(default=None, alias="servicePrincipalType")
    tags: list[str] | None = Field(default=None, alias="tags")
    token_encryption_key_id: Guid | None = Field(default=None, alias="tokenEncryptionKeyId")
    verified_publisher: VerifiedPublisher | None = Field(default=None, alias="verifiedPublisher")
    deleted_date_time: DateTimeOffset | None = Field(default=None, alias="deletedDateTime")
