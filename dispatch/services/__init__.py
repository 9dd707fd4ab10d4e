"""Every write of the closed loop: intake, transitions, the SLA clock, notifications."""
