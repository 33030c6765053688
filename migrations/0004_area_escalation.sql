-- An area (street × topic) whose risk is rising is a hotspot too, with no case: one active at a time per area.
CREATE UNIQUE INDEX hotspots_active_area_escalation ON hotspots (street, topic)
    WHERE status = 'active' AND kind = 'escalation' AND case_id IS NULL;
