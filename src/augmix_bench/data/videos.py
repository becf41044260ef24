"""ImageNet-P sequences: ``<perturbation>/<wnid>/<name>.mp4`` videos, decoded with PyAV.

Every video of a perturbation has the same number of frames (the release generates a fixed number
per perturbation); the count is read from the first video and every other video is checked
against it. PyAV is an optional dependency (``pip install -e ".[video]"``), imported only
when a video is decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from ..errors import UserError, missing_extra

#: File name ending of ImageNet-P videos.
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4",)


def decode_video(path: str) -> list[Image.Image]:
    """Every frame of the video at ``path`` as an RGB image."""
    try:
        import av
    except ImportError:
        raise missing_extra("reading ImageNet-P videos", "video", ["av"]) from None
    try:
        with av.open(path) as container:
            return [frame.to_image() for frame in container.decode(video=0)]
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable video ({exc})") from None


class VideoFramesDataset(Dataset):
    """(``transform(frame)``, label) for every frame of every video, video by video.

    Item ``i`` is frame ``i % num_frames`` of video ``i // num_frames``. The last decoded video is
    kept, so reading the frames in order decodes each video once per data-loader worker.
    """

    def __init__(self, videos: list[tuple[str, int]], transform: Callable[[Image.Image], Any]) -> None:
        self.videos = videos
        self.transform = transform
        self.num_frames = len(decode_video(videos[0][0]))
        self._cached: tuple[int, list[Image.Image]] | None = None

    def __len__(self) -> int:
        return len(self.videos) * self.num_frames

    def frames(self, video: int) -> list[Image.Image]:
        """The decoded frames of video ``video``, checked to number ``num_frames``."""
        if self._cached is None or self._cached[0] != video:
            path = self.videos[video][0]
            frames = decode_video(path)
            if len(frames) != self.num_frames:
                raise UserError(
                    f"{path}: expected {self.num_frames} frames (as the first video of its perturbation), "
                    f"found {len(frames)}"
                )
            self._cached = (video, frames)
        return self._cached[1]

    def __getitem__(self, index: int) -> tuple[Any, int]:
        video, frame = divmod(index, self.num_frames)
        return self.transform(self.frames(video)[frame]), self.videos[video][1]
