"""The daily linkage job as an Airflow DAG: an example to copy into your ``dags/``.

The project does not install or import Airflow; this file is documentation that
runs. Each task is one ``linkage`` command (see README, "Daily runbook"):
detect with ``--previous`` (yesterday's campaign ids kept) and ``--state`` (the
investigators' decisions applied), the ban list and its
diff against yesterday's (the command refuses a mass removal), a Neo4j push for
investigators and a STIX bundle for peer labs. Paths come from Airflow Variables.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

ROOT = Variable.get("linkage_root", default_var="/srv/linkage")
DATA = Variable.get("linkage_data", default_var="/data/today")

with DAG(
    dag_id="linkage_daily",
    schedule="0 5 * * *",
    start_date=pendulum.datetime(2026, 12, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=10)},
    tags=["trust-and-safety"],
) as dag:
    detect = BashOperator(
        task_id="detect",
        bash_command=(
            f"linkage detect {DATA} --out {ROOT}/result --previous {ROOT}/result "
            f"--state {ROOT}/state"
        ),
    )
    banlist = BashOperator(
        task_id="banlist",
        bash_command=(
            f"linkage export banlist {ROOT}/result -o {ROOT}/lists/ban-{{{{ ds }}}}.csv "
            f"--since {ROOT}/lists/ban-latest.csv && "
            f"cp {ROOT}/lists/ban-{{{{ ds }}}}.csv {ROOT}/lists/ban-latest.csv"
        ),
    )
    neo4j = BashOperator(
        task_id="neo4j_push",
        bash_command=f"linkage neo4j push {ROOT}/result --uri bolt://neo4j:7687 --user linkage",
        env={"NEO4J_PASSWORD": "{{ var.value.neo4j_password }}"},
        append_env=True,
    )
    stix = BashOperator(
        task_id="stix",
        bash_command=(
            f"linkage export stix {ROOT}/result -o {ROOT}/share/stix-{{{{ ds }}}}.json "
            "--min-score 0.8 --tlp amber"
        ),
    )
    detect >> banlist >> [neo4j, stix]
