"""integrations/sim package."""
