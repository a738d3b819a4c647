//! What the wizard's screens start with: the official client's arguments and the livecd's
//! variables (`cli::Cli::prefill` gathers them). A value is typed into its field as the
//! operator would have typed it: an invalid one stays there with its error, never dropped.

use super::App;
use crate::domain::access_keys::AccessKeys;
use crate::domain::mapping::DmValueFormat;
use crate::wizard::endpoint::EndpointForm;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointChoice {
    /// `--default-endpoint`, or AWS_DRS_ENDPOINT set but empty.
    Default,
    Custom(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefill {
    pub keys: AccessKeys,
    pub region: Option<String>,
    pub endpoint: Option<EndpointChoice>,
    pub recovery_instance_id: Option<String>,
    pub device_mapping: Option<String>,
    pub value_format: Option<DmValueFormat>,
}

impl Prefill {
    /// Fills the forms; returns what was filled, in words, for the log (no values: some are
    /// secrets).
    pub fn apply(&self, app: &mut App) -> Vec<&'static str> {
        let mut filled = Vec::new();
        if app.credentials.fill_keys(&self.keys).is_some() {
            filled.push("access keys");
        }
        if let Some(region) = &self.region {
            app.credentials.region = region.clone();
            filled.push("region");
        }
        match &self.endpoint {
            Some(EndpointChoice::Default) => {
                app.endpoint = EndpointForm::default();
                filled.push("default endpoint");
            }
            Some(EndpointChoice::Custom(url)) => {
                app.endpoint = EndpointForm::with_custom(url);
                app.endpoint.error = crate::domain::validate::endpoint_url(url).err();
                filled.push("endpoint");
            }
            None => {}
        }
        if let Some(id) = &self.recovery_instance_id {
            app.instance.wanted = Some(id.clone());
            filled.push("recovery instance id");
        }
        if let Some(mapping) = &self.device_mapping {
            app.mapping.given = Some(mapping.clone());
            filled.push("device mapping");
        }
        if let Some(format) = self.value_format {
            app.mapping.value_format = format;
            filled.push("dm value format");
        }
        filled
    }
}
