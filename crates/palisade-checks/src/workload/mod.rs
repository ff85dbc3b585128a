//! Checks of the `workload` category.

use palisade_engine::Check;

mod helpers;

mod capabilities_not_dropped;
mod cpu_resources_missing;
mod dangerous_capabilities;
mod memory_resources_missing;
mod privilege_escalation;
mod readonly_root_filesystem;
mod run_as_root;
mod run_as_root_group;
mod sensitive_host_path;
mod service_account_token_automount;
mod share_process_namespace;
mod ssh_port;

/// Every `workload` check, in catalogue order.
pub static CHECKS: &[&dyn Check] = &[
    &readonly_root_filesystem::CHECK,
    &run_as_root::CHECK,
    &run_as_root_group::CHECK,
    &privilege_escalation::CHECK,
    &dangerous_capabilities::CHECK,
    &capabilities_not_dropped::CHECK,
    &sensitive_host_path::CHECK,
    &share_process_namespace::CHECK,
    &memory_resources_missing::CHECK,
    &cpu_resources_missing::CHECK,
    &service_account_token_automount::CHECK,
    &ssh_port::CHECK,
];
