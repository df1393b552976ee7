"""Files we uploaded to Meta to send by id (the board picture), one row per distinct content."""

from __future__ import annotations

from django.db import models

__all__ = ["UploadedMedia"]


class UploadedMedia(models.Model):
    """A media id Meta gave us for these exact bytes, and when: ids stop working after
    WHATSAPP_UPLOADED_MEDIA_DAYS, then the same bytes are uploaded again (same row)."""

    sha256 = models.CharField(max_length=64, unique=True)
    media_id = models.CharField("Meta media id", max_length=128)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "uploaded media"

    def __str__(self) -> str:
        return f"{self.media_id} ({self.mime_type}, {self.size} bytes)"
