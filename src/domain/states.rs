//! The states DRS gives as enums, as enums here too: a state is matched by its variant, never
//! by a spelling. Each keeps DRS's own spelling for screens, logs and the worker's socket, and
//! a value this program does not know yet is kept as the service wrote it.

/// An enum of DRS's API: `NotGiven` when the service gave none, `Other` for a value added
/// after this program was written; serialized as DRS spells it.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            #[default]
            NotGiven,
            $($variant,)+
            Other(String),
        }

        impl $name {
            /// As DRS spells it; empty when the service gave none.
            pub fn as_str(&self) -> &str {
                match self {
                    Self::NotGiven => "",
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    "" => Self::NotGiven,
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::from(s.as_str())
            }
        }

        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum! {
    /// The recovery instance's `failback.state`.
    FailbackState {
        NotStarted = "FAILBACK_NOT_STARTED",
        InProgress = "FAILBACK_IN_PROGRESS",
        ReadyForLaunch = "FAILBACK_READY_FOR_LAUNCH",
        Completed = "FAILBACK_COMPLETED",
        Error = "FAILBACK_ERROR",
        NotReadyForLaunch = "FAILBACK_NOT_READY_FOR_LAUNCH",
        LaunchStateNotAvailable = "FAILBACK_LAUNCH_STATE_NOT_AVAILABLE",
    }
}

api_enum! {
    /// `dataReplicationInfo.dataReplicationState`.
    DataReplicationState {
        Stopped = "STOPPED",
        Initiating = "INITIATING",
        InitialSync = "INITIAL_SYNC",
        Backlog = "BACKLOG",
        CreatingSnapshot = "CREATING_SNAPSHOT",
        Continuous = "CONTINUOUS",
        Paused = "PAUSED",
        Rescan = "RESCAN",
        Stalled = "STALLED",
        Disconnected = "DISCONNECTED",
        NotStarted = "NOT_STARTED",
        NotAvailable = "REPLICATION_STATE_NOT_AVAILABLE",
    }
}

api_enum! {
    /// An initiation step's `status`.
    StepStatus {
        NotStarted = "NOT_STARTED",
        InProgress = "IN_PROGRESS",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
        Skipped = "SKIPPED",
    }
}

api_enum! {
    /// A job's `status`.
    JobStatus {
        Pending = "PENDING",
        Started = "STARTED",
        Completed = "COMPLETED",
    }
}

api_enum! {
    /// A job's `type`.
    JobType {
        Launch = "LAUNCH",
        Terminate = "TERMINATE",
        CreateConvertedSnapshot = "CREATE_CONVERTED_SNAPSHOT",
    }
}

api_enum! {
    /// A job's `initiatedBy`.
    JobInitiatedBy {
        StartRecovery = "START_RECOVERY",
        StartDrill = "START_DRILL",
        Failback = "FAILBACK",
        Diagnostic = "DIAGNOSTIC",
        TerminateRecoveryInstances = "TERMINATE_RECOVERY_INSTANCES",
        TargetAccount = "TARGET_ACCOUNT",
        CreateNetworkRecovery = "CREATE_NETWORK_RECOVERY",
        UpdateNetworkRecovery = "UPDATE_NETWORK_RECOVERY",
        AssociateNetworkRecovery = "ASSOCIATE_NETWORK_RECOVERY",
    }
}

api_enum! {
    /// A job log item's `event`.
    JobLogEvent {
        JobStart = "JOB_START",
        ServerSkipped = "SERVER_SKIPPED",
        CleanupStart = "CLEANUP_START",
        CleanupEnd = "CLEANUP_END",
        CleanupFail = "CLEANUP_FAIL",
        SnapshotStart = "SNAPSHOT_START",
        SnapshotEnd = "SNAPSHOT_END",
        SnapshotFail = "SNAPSHOT_FAIL",
        UsingPreviousSnapshot = "USING_PREVIOUS_SNAPSHOT",
        UsingPreviousSnapshotFailed = "USING_PREVIOUS_SNAPSHOT_FAILED",
        ConversionStart = "CONVERSION_START",
        ConversionEnd = "CONVERSION_END",
        ConversionFail = "CONVERSION_FAIL",
        LaunchStart = "LAUNCH_START",
        LaunchFailed = "LAUNCH_FAILED",
        JobCancel = "JOB_CANCEL",
        JobEnd = "JOB_END",
    }
}

impl JobLogEvent {
    /// A step of the job that failed.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::CleanupFail
                | Self::SnapshotFail
                | Self::UsingPreviousSnapshotFailed
                | Self::ConversionFail
                | Self::LaunchFailed
        )
    }
}

api_enum! {
    /// The recovery instance's `ec2InstanceState`.
    Ec2State {
        Pending = "PENDING",
        Running = "RUNNING",
        Stopping = "STOPPING",
        Stopped = "STOPPED",
        Terminated = "TERMINATED",
        NotFound = "NOT_FOUND",
    }
}

impl StepStatus {
    /// The step is behind: done, or not needed.
    pub fn is_done(&self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Skipped)
    }
}

impl DataReplicationState {
    /// False in the states where no data moves: a rate or ETA measured before would be stale.
    pub fn data_flows(&self) -> bool {
        !matches!(
            self,
            Self::Stalled | Self::Disconnected | Self::Paused | Self::Stopped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_keep_drss_spelling_both_ways_and_unknown_ones_are_kept() {
        let ready: FailbackState = "FAILBACK_READY_FOR_LAUNCH".into();
        assert_eq!(ready, FailbackState::ReadyForLaunch);
        assert_eq!(ready.to_string(), "FAILBACK_READY_FOR_LAUNCH");
        assert_eq!(FailbackState::from(""), FailbackState::NotGiven);
        let new = FailbackState::from("FAILBACK_SOMETHING_NEW");
        assert_eq!(new, FailbackState::Other("FAILBACK_SOMETHING_NEW".into()));
        assert_eq!(new.as_str(), "FAILBACK_SOMETHING_NEW");
        // On the worker's socket as DRS spells it.
        assert_eq!(
            serde_json::to_string(&DataReplicationState::InitialSync).unwrap(),
            "\"INITIAL_SYNC\""
        );
        assert_eq!(
            serde_json::from_str::<StepStatus>("\"SKIPPED\"").unwrap(),
            StepStatus::Skipped
        );
        assert_eq!(JobStatus::from("COMPLETED"), JobStatus::Completed);
        assert_eq!(Ec2State::from("NOT_FOUND").to_string(), "NOT_FOUND");
    }

    #[test]
    fn jobs_and_their_log_events_keep_drss_spelling_both_ways() {
        assert_eq!(JobType::from("LAUNCH"), JobType::Launch);
        assert_eq!(
            JobType::CreateConvertedSnapshot.as_str(),
            "CREATE_CONVERTED_SNAPSHOT"
        );
        assert_eq!(JobInitiatedBy::from("FAILBACK"), JobInitiatedBy::Failback);
        assert_eq!(
            serde_json::to_string(&JobInitiatedBy::TerminateRecoveryInstances).unwrap(),
            "\"TERMINATE_RECOVERY_INSTANCES\""
        );
        for (text, event) in [
            ("JOB_START", JobLogEvent::JobStart),
            ("CONVERSION_END", JobLogEvent::ConversionEnd),
            ("LAUNCH_START", JobLogEvent::LaunchStart),
            ("JOB_END", JobLogEvent::JobEnd),
        ] {
            assert_eq!(JobLogEvent::from(text), event);
            assert_eq!(
                serde_json::from_str::<JobLogEvent>(&format!("\"{text}\"")).unwrap(),
                event
            );
            assert_eq!(serde_json::to_value(&event).unwrap(), text);
        }
        let new = JobLogEvent::from("DEPLOY_NETWORK_CONFIGURATION_START");
        assert_eq!(new.as_str(), "DEPLOY_NETWORK_CONFIGURATION_START");
        assert!(JobLogEvent::LaunchFailed.is_failure() && !JobLogEvent::JobEnd.is_failure());
    }

    #[test]
    fn no_data_flows_while_stalled_or_disconnected() {
        assert!(!DataReplicationState::Stalled.data_flows());
        assert!(!DataReplicationState::Disconnected.data_flows());
        assert!(DataReplicationState::InitialSync.data_flows());
        assert!(DataReplicationState::Continuous.data_flows());
        assert!(StepStatus::Skipped.is_done() && !StepStatus::InProgress.is_done());
    }
}
