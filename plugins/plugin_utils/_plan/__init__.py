# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""The planner: from the inventory to the fleet plan, on the controller (docs/design.md, "Planner").

``_profile``: what a host runs (``host_profile``) and its data-model variables (``variable``).
``_files``: the folders a host's applications read and the Tableau files that land in them (``plan_host_files``).
``_render``: each distinct document rendered once; files stored by the sha256 of their text.
``_entry``: one host's entry ``{profile, files, module_args, checks, inputs}`` (``host_entry``), and the entry the
``tableau_files`` action uses (``task_entry``: the published one while it applies, else a fresh one).
``_fleet``: the fleet plan, once per run (``fleet_plan``): findings, documents, host entries, tsm intent.
"""
