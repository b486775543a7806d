"""Old home of the deploy screens (tests/device import it from here); they live in screens/deploy.py."""

from .screens.deploy import DeployScreen, ProfileTargetScreen, TargetForm

__all__ = ["DeployScreen", "ProfileTargetScreen", "TargetForm"]
