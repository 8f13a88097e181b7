"""Built-in Amazon Macie check: Macie watches the S3 data of the regions DevOps Guru analyses."""
from scanner import hookimpl
from checks.macie.macie_enabled import macie_enabled


@hookimpl
def orgscan_register_checks(options):
    return [macie_enabled]
