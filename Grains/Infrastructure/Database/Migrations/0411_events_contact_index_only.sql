-- Every query on events names its contact (segment event conditions, the timeline, export), so the contact index serves
-- them all; the (organization_id, name, occurred_at) index only made each recorded event cost one more index insert.
DROP INDEX IF EXISTS events_organization_name_idx;
