"""The worker: claims and runs workflow tasks, activity attempts and timers."""
