-- Resource booking (seed 003 "Бронирование ресурсов"): the resources that
-- can be booked, the bookings, which resources each takes and the users
-- each involves, with the title and description of that booking's event
-- in each user's calendar (renamed per user by booking.rename).

-- kind: room | equipment | person. capacity 0: not stated.
CREATE TABLE resources (
    id {{id}},
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    capacity INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- start_at/end_at in unix µs, end after start. entity and record_id: the
-- CRM record the booking was made for ('' and 0: none). assigned_by_id is
-- the responsible user, whose records' access rules the booking follows.
CREATE TABLE bookings (
    id {{id}},
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    entity TEXT NOT NULL DEFAULT '',
    record_id BIGINT NOT NULL DEFAULT 0,
    assigned_by_id BIGINT NOT NULL DEFAULT 0,
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bookings_record ON bookings (entity, record_id);

-- One row per booked resource; start_at/end_at repeat the booking's so
-- that the overlap check of a resource reads one index.
CREATE TABLE booking_resources (
    booking_id BIGINT NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    resource_id BIGINT NOT NULL REFERENCES resources(id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    PRIMARY KEY (booking_id, resource_id)
);
CREATE INDEX booking_resources_time ON booking_resources (resource_id, start_at, end_at);

-- The booking's event in one user's calendar.
CREATE TABLE booking_users (
    booking_id BIGINT NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (booking_id, user_id)
);
CREATE INDEX booking_users_user ON booking_users (user_id, booking_id);
