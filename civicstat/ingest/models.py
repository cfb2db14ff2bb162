from __future__ import annotations

from django.db import models


class ImportRun(models.Model):
    """One import of one file (or, later, one sync of a source): what it read and what it did."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    profile = models.CharField(max_length=100)
    file_name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.profile}) at {self.started_at:%Y-%m-%d %H:%M}"


class RejectedRow(models.Model):
    """A row the import could not take, with where it is and why, so a person can fix the source."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejects")
    line = models.PositiveIntegerField(help_text="Line in the file where the row starts.")
    external_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500)
    raw = models.TextField(blank=True, help_text="The row as read (at most 2,000 characters).")

    class Meta:
        ordering = ["run", "line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
