#!/usr/bin/python
# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT

# The work is done by the action plugin of the same name (plugins/action/compliance_report.py), on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compliance_report
short_description: Write the compliance report set of a run and publish its result as job statistics
version_added: "0.1.0"
description:
  - The last play of C(playbooks/compliance.yml) (C(ansible-playbook tabops.redshift_oauth.compliance)) runs it on
    C(localhost). It reads the registered results of every host the compliance play checked (C(tabops_artifacts_result)
    on each Tableau host, C(tabops_tsm_settings_result) and C(tabops_tsm_apply_result) on the tsm node), including
    their failed and unreachable results, and turns them into findings (C(compliant), C(drift), C(missing),
    C(unmanaged_conflict), C(unreachable), C(error)) per host and Tableau file.
  - Only the hosts checked (O(hosts)) get findings; other inventory hosts are not findings. A checked host without
    a result was not reached (an error).
  - Writes C(<report_dir>/<UTC run start>/) whole (C(compliance.json), C(junit.xml), C(report.html),
    C(compliance.prom), C(findings.ndjson)), points C(<report_dir>/latest) at it and keeps the newest O(keep) sets.
  - Publishes C(set_stats) data (aggregate, not per host) for AWX/AAP job artifacts and workflows
    (C(tabops_compliance_status), C(tabops_compliance_exit_code), C(tabops_compliance_mode),
    C(tabops_compliance_hosts), C(tabops_compliance_findings), C(tabops_compliance_report_path)).
  - Runs on the controller only and writes the report in check mode too (that is what a check job is for); it
    never fails because of findings (the playbook's C(tabops_compliance_fail_on_drift) does that).
author:
  - tabops maintainers (@tabops)
options:
  report_dir:
    description: Where report sets are written, on the controller (in an execution environment, a mounted path).
    type: path
    default: reports
  keep:
    description: How many report sets to keep in O(report_dir) and O(copy_dir) (older ones are removed); 0 keeps all.
    type: int
    default: 0
  copy_dir:
    description: A second folder (for example a persistent share) that gets a copy of the report set.
    type: path
  prometheus_file:
    description:
      - Also write the Prometheus metrics to this file, replaced atomically (for node_exporter's textfile collector,
        for example C(/var/lib/node_exporter/textfile_collector/tabops_compliance.prom)).
    type: path
  result_file:
    description: A file to write the path of the report set to (C(scripts/compliance) reads it).
    type: path
  hosts:
    description:
      - The hosts the compliance run checked. By default the hosts of the play this task runs in
        (C(ansible_play_hosts_all)). Give the report play the host pattern of the checks, and C(--limit) narrows both alike.
    type: list
    elements: str
  tsm_node:
    description: The host the tsm settings are read on; the first host of C(tableau_server_initial) by default.
    type: str
  remediate:
    description: The run was a remediation (the report's C(mode) is C(remediate) when it did not run in check mode).
    type: bool
    default: false
  run_start:
    description: When the run began (ISO 8601); by default when the C(ansible-playbook) process started.
    type: str
notes:
  - The report's C(mode) is C(check) whenever this task runs in check mode; C(playbooks/compliance.yml) gives it the
    same C(check_mode) as the checks.
seealso:
  - name: Scheduled compliance runs
    description: docs/compliance.md in the collection (exit status, findings, AWX/AAP).
    link: https://github.com/tabops/redshift_oauth/blob/main/docs/compliance.md
"""

EXAMPLES = r"""
- name: Compliance report - findings of every checked host, report set, job statistics
  hosts: tableau_server:tableau_bridge:tableau_desktop
  gather_facts: false
  tasks:
    - name: Write the report set
      tabops.redshift_oauth.compliance_report:
        report_dir: /var/lib/tabops/compliance
        keep: 30
        prometheus_file: /var/lib/node_exporter/textfile_collector/tabops_compliance.prom
      run_once: true
      register: report

    - name: Show the summary
      ansible.builtin.debug:
        msg: "{{ report.summary }}"
      run_once: true
"""

RETURN = r"""
result:
  description: The run's result.
  returned: success
  type: str
  sample: drift
exit_code:
  description: The exit status C(scripts/compliance) returns (0 compliant, 2 drift, 4 unreachable, 1 error).
  returned: success
  type: int
  sample: 2
mode:
  description: C(check), C(remediate) or C(apply).
  returned: success
  type: str
  sample: check
summary:
  description: One line naming every status found, not only the one that set the exit status.
  returned: success
  type: str
  sample: "unreachable (exit status 4); hosts: unreachable 1, drift 1, compliant 2 of 4"
by_cause:
  description:
    - >-
      The hosts whose check failed or did not reach them, grouped by cause, one line per cause with a count and the
      first few names, for example C(driver-missing: 7 hosts (tsnode1, tsnode2, tsnode3, tsnode4, tsnode5, +2 more));
      at most 12 lines and one for the rest. Empty when every host was checked.
  returned: success
  type: list
  elements: str
hosts:
  description: Status per checked host.
  returned: success
  type: dict
  sample: {"desktop1": "drift", "tsnode1": "compliant"}
counts:
  description: Hosts and findings per status (each with C(total)).
  returned: success
  type: dict
findings:
  description: The findings that are not compliant (as in C(compliance.json)).
  returned: success
  type: list
  elements: dict
report_path:
  description: The folder of this run's report set.
  returned: success
  type: str
  sample: /var/lib/tabops/compliance/20261129T023000Z
report_files:
  description: The file names in O(report_dir) of the report set.
  returned: success
  type: list
  elements: str
  sample: [compliance.json, junit.xml, report.html, compliance.prom, findings.ndjson]
pruned:
  description: Report sets removed because of O(keep).
  returned: success
  type: list
  elements: str
copied_to:
  description: The copy of the report set in O(copy_dir), if asked for.
  returned: success
  type: str
prometheus_file:
  description: The metrics file written, if asked for.
  returned: success
  type: str
"""
