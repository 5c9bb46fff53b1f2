"""The study app behind ``vaesvm study`` and ``vaesvm ablate``."""
