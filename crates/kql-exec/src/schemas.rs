//! Defender XDR advanced-hunting tables that Harrier cannot fill from endpoint events
//! (device inventory, logons, vulnerability management, and the e-mail and identity
//! tables device hunting queries join with), with the columns and types of
//! Microsoft's schema reference. `harrier kql` adds them as empty tables, so that hunting
//! queries reading them run (and return what an organisation without those records gets)
//! instead of failing on an unknown table. The Sentinel tables `SecurityEvent` and
//! `IntuneDevices`, which some device hunting queries join with, are here too. Like the
//! six event tables, each ends with Sentinel's `TimeGenerated`, `TenantId` and `Type`
//! (where the table does not already have them).

use crate::KType;

/// `name:type` pairs in the documented order, one table per entry; Sentinel's
/// `TimeGenerated`, `TenantId` and `Type` are appended unless the table has them.
const TABLES: &[(&str, &str)] = &[
    (
        "DeviceInfo",
        "Timestamp:datetime DeviceId:string DeviceName:string ClientVersion:string \
         PublicIP:string OSArchitecture:string OSPlatform:string OSBuild:long \
         IsAzureADJoined:bool JoinType:string AadDeviceId:string LoggedOnUsers:string \
         RegistryDeviceTag:string OSVersion:string MachineGroup:string ReportId:long \
         OnboardingStatus:string AdditionalFields:string DeviceCategory:string \
         DeviceType:string DeviceSubtype:string Model:string Vendor:string \
         OSDistribution:string OSVersionInfo:string MergedDeviceIds:string \
         MergedToDeviceId:string IsInternetFacing:bool SensorHealthState:string \
         IsExcluded:bool ExclusionReason:string ExposureLevel:string AssetValue:string \
         DeviceManualTags:string DeviceDynamicTags:string ConnectivityType:string \
         HostDeviceId:string",
    ),
    (
        "DeviceLogonEvents",
        "Timestamp:datetime DeviceId:string DeviceName:string ActionType:string \
         LogonType:string AccountDomain:string AccountName:string AccountSid:string \
         Protocol:string FailureReason:string IsLocalAdmin:bool LogonId:long \
         RemoteDeviceName:string RemoteIP:string RemoteIPType:string RemotePort:int \
         InitiatingProcessAccountDomain:string InitiatingProcessAccountName:string \
         InitiatingProcessAccountSid:string InitiatingProcessAccountUpn:string \
         InitiatingProcessAccountObjectId:string InitiatingProcessIntegrityLevel:string \
         InitiatingProcessTokenElevation:string InitiatingProcessSHA1:string \
         InitiatingProcessSHA256:string InitiatingProcessMD5:string \
         InitiatingProcessFileName:string InitiatingProcessFileSize:long \
         InitiatingProcessVersionInfoCompanyName:string \
         InitiatingProcessVersionInfoProductName:string \
         InitiatingProcessVersionInfoProductVersion:string \
         InitiatingProcessVersionInfoInternalFileName:string \
         InitiatingProcessVersionInfoOriginalFileName:string \
         InitiatingProcessVersionInfoFileDescription:string InitiatingProcessId:long \
         InitiatingProcessCommandLine:string InitiatingProcessCreationTime:datetime \
         InitiatingProcessFolderPath:string InitiatingProcessParentId:long \
         InitiatingProcessParentFileName:string \
         InitiatingProcessParentCreationTime:datetime ReportId:long \
         AppGuardContainerId:string AdditionalFields:string \
         InitiatingProcessSessionId:long IsInitiatingProcessRemoteSession:bool \
         InitiatingProcessRemoteSessionDeviceName:string \
         InitiatingProcessRemoteSessionIP:string",
    ),
    (
        "DeviceNetworkInfo",
        "Timestamp:datetime DeviceId:string DeviceName:string NetworkAdapterName:string \
         MacAddress:string NetworkAdapterType:string NetworkAdapterStatus:string \
         TunnelType:string ConnectedNetworks:string DnsAddresses:string IPv4Dhcp:string \
         IPv6Dhcp:string DefaultGateways:string IPAddresses:string ReportId:long \
         NetworkAdapterVendor:string",
    ),
    (
        "DeviceFileCertificateInfo",
        "Timestamp:datetime DeviceId:string DeviceName:string SHA1:string IsSigned:bool \
         SignatureType:string Signer:string SignerHash:string Issuer:string \
         IssuerHash:string CertificateSerialNumber:string CrlDistributionPointUrls:string \
         CertificateCreationTime:datetime CertificateExpirationTime:datetime \
         CertificateCountersignatureTime:datetime IsTrusted:bool \
         IsRootSignerMicrosoft:bool ReportId:long",
    ),
    (
        "DeviceTvmSoftwareVulnerabilities",
        "DeviceId:string DeviceName:string OSPlatform:string OSVersion:string \
         OSArchitecture:string SoftwareVendor:string SoftwareName:string \
         SoftwareVersion:string CveId:string VulnerabilitySeverityLevel:string \
         RecommendedSecurityUpdate:string RecommendedSecurityUpdateId:string \
         CveTags:dynamic",
    ),
    (
        "DeviceTvmSoftwareVulnerabilitiesKB",
        "CveId:string CvssScore:string IsExploitAvailable:bool \
         VulnerabilitySeverityLevel:string LastModifiedTime:datetime \
         PublishedDate:datetime VulnerabilityDescription:string AffectedSoftware:dynamic",
    ),
    (
        "DeviceTvmSoftwareInventory",
        "DeviceId:string DeviceName:string OSPlatform:string OSVersion:string \
         OSArchitecture:string SoftwareVendor:string SoftwareName:string \
         SoftwareVersion:string EndOfSupportStatus:string EndOfSupportDate:datetime \
         ProductCodeCpe:string",
    ),
    (
        "DeviceTvmSecureConfigurationAssessment",
        "DeviceId:string DeviceName:string OSPlatform:string Timestamp:datetime \
         ConfigurationId:string ConfigurationCategory:string \
         ConfigurationSubcategory:string ConfigurationImpact:real IsCompliant:bool \
         IsApplicable:bool Context:dynamic IsExpectedUserImpact:bool",
    ),
    (
        "DeviceTvmSecureConfigurationAssessmentKB",
        "ConfigurationId:string ConfigurationImpact:real ConfigurationName:string \
         ConfigurationDescription:string RiskDescription:string \
         ConfigurationCategory:string ConfigurationSubcategory:string \
         ConfigurationBenchmarks:dynamic Tags:dynamic RemediationOptions:string",
    ),
    (
        "DeviceTvmInfoGathering",
        "Timestamp:datetime LastSeenTime:datetime DeviceId:string DeviceName:string \
         OSPlatform:string AdditionalFields:dynamic",
    ),
    (
        "DeviceTvmBrowserExtensions",
        "DeviceId:string BrowserName:string ExtensionId:string ExtensionName:string \
         ExtensionDescription:string ExtensionVersion:string ExtensionRisk:string \
         ExtensionVendor:string IsActivated:string InstallationTime:datetime",
    ),
    (
        "DeviceTvmBrowserExtensionsKB",
        "BrowserName:string ExtensionId:string ExtensionName:string \
         ExtensionDescription:string ExtensionVersion:dynamic ExtensionRisk:string \
         PermissionId:string PermissionName:string PermissionDescription:string \
         PermissionRisk:string IsPermissionRequired:string",
    ),
    (
        "EmailEvents",
        "Timestamp:datetime NetworkMessageId:string InternetMessageId:string \
         SenderMailFromAddress:string SenderFromAddress:string SenderDisplayName:string \
         SenderObjectId:string SenderMailFromDomain:string SenderFromDomain:string \
         SenderIPv4:string SenderIPv6:string RecipientEmailAddress:string \
         RecipientObjectId:string Subject:string EmailClusterId:long \
         EmailDirection:string DeliveryAction:string DeliveryLocation:string \
         ThreatTypes:string ThreatNames:string DetectionMethods:string \
         ConfidenceLevel:string BulkComplaintLevel:int EmailAction:string \
         EmailActionPolicy:string EmailActionPolicyGuid:string \
         AuthenticationDetails:string AttachmentCount:int UrlCount:int \
         EmailLanguage:string Connectors:string OrgLevelAction:string \
         OrgLevelPolicy:string UserLevelAction:string UserLevelPolicy:string \
         ReportId:string AdditionalFields:string LatestDeliveryLocation:string \
         LatestDeliveryAction:string",
    ),
    (
        "EmailAttachmentInfo",
        "Timestamp:datetime NetworkMessageId:string SenderFromAddress:string \
         SenderDisplayName:string SenderObjectId:string RecipientEmailAddress:string \
         RecipientObjectId:string FileName:string FileType:string SHA256:string \
         FileSize:long ThreatTypes:string ThreatNames:string DetectionMethods:string \
         ReportId:string",
    ),
    (
        "IdentityQueryEvents",
        "Timestamp:datetime ActionType:string Application:string QueryType:string \
         QueryTarget:string Query:string Protocol:string AccountName:string \
         AccountDomain:string AccountUpn:string AccountSid:string AccountObjectId:string \
         AccountDisplayName:string DeviceName:string IPAddress:string Port:int \
         DestinationDeviceName:string DestinationIPAddress:string DestinationPort:int \
         TargetDeviceName:string TargetAccountUpn:string TargetAccountDisplayName:string \
         Location:string ReportId:string AdditionalFields:dynamic",
    ),
    (
        "IdentityInfo",
        "Timestamp:datetime ReportId:string AccountObjectId:string AccountUpn:string \
         OnPremSid:string AccountDisplayName:string AccountName:string \
         AccountDomain:string CriticalityLevel:int Type:string DistinguishedName:string \
         CloudSid:string GivenName:string Surname:string Department:string \
         JobTitle:string EmailAddress:string SipProxyAddress:string Address:string \
         City:string Country:string IsAccountEnabled:bool Manager:string Phone:string \
         CreatedDateTime:datetime ChangeSource:string BlastRadius:string \
         CompanyName:string DeletedDateTime:datetime EmployeeId:string \
         OtherMailAddresses:dynamic RiskLevel:string RiskLevelDetails:string \
         State:string Tags:dynamic AssignedRoles:dynamic PrivilegedEntraPimRoles:dynamic \
         TenantId:string SourceSystem:string OnPremObjectId:string \
         TenantMembershipType:string RiskStatus:string UserAccountControl:string \
         IdentityEnvironment:string SourceProviders:dynamic GroupMembership:dynamic",
    ),
    // Sentinel (Log Analytics) tables of Windows security events and Intune devices, in
    // the column order of the Azure Monitor table reference (its `_`-prefixed system
    // columns left out, as for the tables above)
    (
        "SecurityEvent",
        "AccessMask:string Account:string AccountDomain:string AccountExpires:string \
         AccountName:string AccountSessionIdentifier:string AccountType:string \
         Activity:string AdditionalInfo:string AdditionalInfo2:string \
         AllowedToDelegateTo:string Attributes:string AuditPolicyChanges:string \
         AuditsDiscarded:int AuthenticationLevel:int AuthenticationPackageName:string \
         AuthenticationProvider:string AuthenticationServer:string AuthenticationService:int \
         AuthenticationType:string AzureDeploymentID:string CACertificateHash:string \
         CalledStationID:string CallerProcessId:string CallerProcessName:string \
         CallingStationID:string CAPublicKeyHash:string CategoryId:string \
         CertificateDatabaseHash:string Channel:string ClassId:string ClassName:string \
         ClientAddress:string ClientIPAddress:string ClientName:string CommandLine:string \
         CompatibleIds:string Computer:string DCDNSName:string DeviceDescription:string \
         DeviceId:string DisplayName:string Disposition:string DomainBehaviorVersion:string \
         DomainName:string DomainPolicyChanged:string DomainSid:string EAPType:string \
         ElevatedToken:string ErrorCode:int EventData:string EventID:int \
         EventSourceName:string ExtendedQuarantineState:string FailureReason:string \
         FileHash:string FilePath:string FilePathNoUser:string Filter:string \
         ForceLogoff:string Fqbn:string FullyQualifiedSubjectMachineName:string \
         FullyQualifiedSubjectUserName:string GroupMembership:string HandleId:string \
         HardwareIds:string HomeDirectory:string HomePath:string InterfaceUuid:string \
         IpAddress:string IpPort:string KeyLength:int Level:string LmPackageName:string \
         LocationInformation:string LockoutDuration:string LockoutObservationWindow:string \
         LockoutThreshold:string LoggingResult:string LogonGuid:string LogonHours:string \
         LogonID:string LogonProcessName:string LogonType:int LogonTypeName:string \
         MachineAccountQuota:string MachineInventory:string MachineLogon:string \
         ManagementGroupName:string MandatoryLabel:string MaxPasswordAge:string \
         MemberName:string MemberSid:string MinPasswordAge:string MinPasswordLength:string \
         MixedDomainMode:string NASIdentifier:string NASIPv4Address:string \
         NASIPv6Address:string NASPort:string NASPortType:string NetworkPolicyName:string \
         NewDate:string NewMaxUsers:string NewProcessId:string NewProcessName:string \
         NewRemark:string NewShareFlags:string NewTime:string NewUacValue:string \
         NewValue:string NewValueType:string ObjectName:string ObjectServer:string \
         ObjectType:string ObjectValueName:string OemInformation:string OldMaxUsers:string \
         OldRemark:string OldShareFlags:string OldUacValue:string OldValue:string \
         OldValueType:string OperationType:string PackageName:string ParentProcessName:string \
         PasswordHistoryLength:string PasswordLastSet:string PasswordProperties:string \
         PreviousDate:string PreviousTime:string PrimaryGroupId:string \
         PrivateKeyUsageCount:string PrivilegeList:string Process:string ProcessId:string \
         ProcessName:string ProfilePath:string Properties:string ProtocolSequence:string \
         ProxyPolicyName:string QuarantineHelpURL:string QuarantineSessionID:string \
         QuarantineSessionIdentifier:string QuarantineState:string \
         QuarantineSystemHealthResult:string RelativeTargetName:string RemoteIpAddress:string \
         RemotePort:string Requester:string RequestId:string RestrictedAdminMode:string \
         RowsDeleted:string SamAccountName:string ScriptPath:string SecurityDescriptor:string \
         ServiceAccount:string ServiceFileName:string ServiceName:string ServiceStartType:int \
         ServiceType:string SessionName:string ShareLocalPath:string ShareName:string \
         SidHistory:string SourceComputerId:string SourceSystem:string Status:string \
         StorageAccount:string SubcategoryGuid:string SubcategoryId:string Subject:string \
         SubjectAccount:string SubjectDomainName:string SubjectKeyIdentifier:string \
         SubjectLogonId:string SubjectMachineName:string SubjectMachineSID:string \
         SubjectUserName:string SubjectUserSid:string SubStatus:string TableId:string \
         TargetAccount:string TargetDomainName:string TargetInfo:string \
         TargetLinkedLogonId:string TargetLogonGuid:string TargetLogonId:string \
         TargetOutboundDomainName:string TargetOutboundUserName:string \
         TargetServerName:string TargetSid:string TargetUser:string TargetUserName:string \
         TargetUserSid:string Task:int TemplateContent:string TemplateDSObjectFQDN:string \
         TemplateInternalName:string TemplateOID:string TemplateSchemaVersion:string \
         TemplateVersion:string TimeGenerated:datetime TokenElevationType:string \
         TransmittedServices:string Type:string UserAccountControl:string \
         UserParameters:string UserPrincipalName:string UserWorkstations:string \
         VendorIds:string VirtualAccount:string Workstation:string WorkstationName:string",
    ),
    (
        "IntuneDevices",
        "AADTenantId:string AndroidPatchLevel:string BatchId:string CategoryName:string \
         CompliantState:string CreatedDate:string DeviceId:string DeviceName:string \
         DeviceRegistrationState:string DeviceState:string EasID:string \
         EncryptionStatusString:string GraphDeviceIsManaged:bool IMEI:string \
         InGracePeriodUntil:string IntuneAccountId:string JailBroken:string JoinType:string \
         LastContact:string ManagedBy:string ManagedDeviceName:string Manufacturer:string \
         MEID:string Model:string OperationName:string OS:string OSVersion:string \
         Ownership:string PhoneNumber:string PrimaryUser:string ReferenceId:string \
         Result:string SerialNumber:string SkuFamily:string SourceSystem:string Stats:dynamic \
         StorageFree:long StorageTotal:long SubscriberCarrierNetwork:string \
         SupervisedStatusString:string TenantId:string TimeGenerated:datetime Type:string \
         UPN:string UserEmail:string UserName:string WifiMacAddress:string",
    ),
];

/// The tables of [`TABLES`] with their columns.
pub fn defender_schemas() -> Vec<(String, Vec<(String, KType)>)> {
    TABLES
        .iter()
        .map(|(name, cols)| {
            let mut columns: Vec<(String, KType)> = cols
                .split_whitespace()
                .filter_map(|c| {
                    let (n, t) = c.split_once(':')?;
                    Some((n.to_string(), KType::from_name(t)?))
                })
                .collect();
            for (n, t) in [
                ("TimeGenerated", KType::DateTime),
                ("TenantId", KType::String),
                ("Type", KType::String),
            ] {
                if !columns.iter().any(|(c, _)| c == n) {
                    columns.push((n.into(), t));
                }
            }
            (name.to_string(), columns)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_has_a_known_type() {
        for (name, cols) in TABLES {
            for c in cols.split_whitespace() {
                let t = c.split_once(':').and_then(|(_, t)| KType::from_name(t));
                assert!(t.is_some(), "{name}: `{c}` has no Kusto type");
            }
        }
        for (name, typed) in defender_schemas() {
            let mut seen: Vec<&str> = typed.iter().map(|(n, _)| n.as_str()).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), typed.len(), "{name}: a column appears twice");
            assert!(seen.contains(&"TimeGenerated") && seen.contains(&"Type"));
        }
        let schema = defender_schemas();
        let info = &schema
            .iter()
            .find(|(n, _)| n == "DeviceInfo")
            .expect("DeviceInfo")
            .1;
        assert_eq!(info[7], ("OSBuild".to_string(), KType::Long));
        assert_eq!(info[8], ("IsAzureADJoined".to_string(), KType::Bool));
        let col = |table: &str, col: &str| {
            schema
                .iter()
                .find(|(n, _)| n == table)
                .and_then(|(_, cols)| cols.iter().find(|(c, _)| c == col))
                .map(|(_, t)| *t)
        };
        assert_eq!(col("SecurityEvent", "EventID"), Some(KType::Int));
        assert_eq!(col("SecurityEvent", "LogonType"), Some(KType::Int));
        assert_eq!(col("SecurityEvent", "Computer"), Some(KType::String));
        assert_eq!(col("SecurityEvent", "TenantId"), Some(KType::String));
        assert_eq!(col("IntuneDevices", "StorageFree"), Some(KType::Long));
        assert_eq!(
            col("IntuneDevices", "GraphDeviceIsManaged"),
            Some(KType::Bool)
        );
        assert_eq!(col("IntuneDevices", "Stats"), Some(KType::Dynamic));
        assert_eq!(col("IntuneDevices", "_BilledSize"), None);
    }
}
