-- Attempts counted per key (an account, an address, an account from one address, a
-- browser that has signed in before) in fixed windows: each attempt adds one in a
-- single statement before the password is checked, so parallel attempts, from one
-- instance or many, each see a count of their own.
CREATE TABLE throttle_counts (
    key           TEXT    PRIMARY KEY,
    window_start  BIGINT  NOT NULL,
    hits          BIGINT  NOT NULL
);
CREATE INDEX throttle_counts_window_start ON throttle_counts (window_start);
