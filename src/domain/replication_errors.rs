//! What DRS's data replication errors mean for the operator.

/// What to do about a `dataReplicationError`, in one sentence.
pub fn next_step(error: &str) -> &'static str {
    match error {
        "UNSTABLE_NETWORK" | "FAILED_TO_ESTABLISH_RECOVERY_INSTANCE_COMMUNICATION" => {
            "Check the route from this machine to the recovery instance on TCP 1500 (VPN or Direct Connect, security group); replication resumes on its own once it holds."
        }
        "FAILBACK_CLIENT_NOT_SEEN" => {
            "Check that this machine reaches DRS over TCP 443 (DNS, proxy, firewall); this screen keeps watching."
        }
        "AGENT_NOT_SEEN" => {
            "Check in the EC2 console that the recovery instance is running and can reach DRS; this screen keeps watching."
        }
        "NOT_CONVERGING" => {
            "The recovery instance writes faster than the link copies: reduce its write load or add bandwidth."
        }
        "FAILED_TO_DOWNLOAD_REPLICATION_SOFTWARE_TO_FAILBACK_CLIENT" => {
            "This machine could not download the replication software: check HTTPS to S3 in the region and any proxy, then retry."
        }
        _ => {
            "See the log below; if it does not clear within a few minutes, quit and start the failback again."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstable_network_names_the_link_to_check() {
        assert!(next_step("UNSTABLE_NETWORK").contains("TCP 1500"));
        assert!(next_step("SOMETHING_NEW").contains("quit"));
    }
}
