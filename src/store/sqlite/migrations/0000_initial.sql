CREATE TABLE `awaiting_release` (
	`client_id` text NOT NULL,
	`packet_id` integer NOT NULL,
	PRIMARY KEY(`client_id`, `packet_id`),
	FOREIGN KEY (`client_id`) REFERENCES `sessions`(`client_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `deliveries` (
	`client_id` text NOT NULL,
	`id` integer NOT NULL,
	`message_id` integer NOT NULL,
	`qos` integer NOT NULL,
	`retain` integer NOT NULL,
	`subscription_identifiers` text,
	`packet_id` integer,
	`state` text,
	PRIMARY KEY(`client_id`, `id`),
	FOREIGN KEY (`client_id`) REFERENCES `sessions`(`client_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `deliveries_message_id` ON `deliveries` (`message_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` integer PRIMARY KEY NOT NULL,
	`topic` text NOT NULL,
	`payload` blob NOT NULL,
	`qos` integer NOT NULL,
	`retain` integer NOT NULL,
	`properties` text,
	`expires_at` integer,
	`origin` text
);
--> statement-breakpoint
CREATE TABLE `retained` (
	`topic` text PRIMARY KEY NOT NULL,
	`message_id` integer NOT NULL,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `retained_message_id` ON `retained` (`message_id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`client_id` text PRIMARY KEY NOT NULL,
	`expiry_interval` integer NOT NULL,
	`disconnected_at` integer
);
--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`client_id` text NOT NULL,
	`key` text NOT NULL,
	`qos` integer NOT NULL,
	`no_local` integer NOT NULL,
	`retain_as_published` integer NOT NULL,
	`retain_handling` integer NOT NULL,
	`subscription_identifier` integer,
	PRIMARY KEY(`client_id`, `key`),
	FOREIGN KEY (`client_id`) REFERENCES `sessions`(`client_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `wills` (
	`client_id` text PRIMARY KEY NOT NULL,
	`message_id` integer NOT NULL,
	`publish_at` integer NOT NULL,
	`message_expiry_interval` integer,
	FOREIGN KEY (`client_id`) REFERENCES `sessions`(`client_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `wills_message_id` ON `wills` (`message_id`);