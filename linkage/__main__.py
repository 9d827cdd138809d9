"""``python -m linkage``: the command line; also the file ``spark-submit`` runs
(``docs/SPARK.md``)."""

from linkage.cli import app

if __name__ == "__main__":
    app(prog_name="linkage")
