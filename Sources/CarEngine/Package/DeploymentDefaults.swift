import CarDefinition
import MappingDSL

/// The deployment defaults of CP4S connector configurations: the fields every CAR connector's
/// connection form has, whatever the connector. IBM's connector repository keeps them in
/// `deployment/configurations/config.json` and `lang_en.json` and merges each connector's own
/// configuration over them when it builds an image; car ships the same data here and merges the
/// configuration it generates from a definition the same way (`CP4SConfiguration.merge`).
public enum DeploymentDefaults {
    /// The schedule CP4S offers when the definition gives none.
    public static let scheduleDefault = "*/15 * * * *"

    /// The schedule's choices; `mm HH * * *` lets the user pick a daily time.
    public static let scheduleOptions = [
        "*/5 * * * *", "*/10 * * * *", "*/15 * * * *", "*/30 * * * *", "0 */1 * * *", "0 */2 * * *",
        "0 */4 * * *", "0 */6 * * *", "0 */12 * * *", "mm HH * * *",
    ]

    /// The help page's file name pattern; `{CONNECTOR}` becomes the connector's name.
    public static let helpLink = "data-sources-car-{CONNECTOR}.html"

    /// The hidden field CP4S fills with the image; `{image_link}` stays as it is.
    public static let imageLink = "{image_link}"

    /// The schedule field, with the given default and choices.
    static func schedule(default value: String, options: [String]) -> JSON {
        [
            "default": .string(value), "type": "cron", "previous": ["frequency", "time"],
            "options": .array(options.map { .string($0) }),
        ]
    }

    /// config.json's defaults.
    public static let config: JSON = [
        "connection": [
            "schedule": schedule(default: scheduleDefault, options: scheduleOptions),
            "help": ["default": .string(helpLink), "type": "link"],
            "image": ["type": "text", "hidden": true, "default": .string(imageLink)],
        ],
    ]

    /// lang_en.json's defaults: the English labels of the deployment's fields.
    public static let languageEnglish: JSON = [
        "connection": [
            "name": [
                "label": "Connector name",
                "description": "Assign a name to uniquely identify the connection (minimum of 5 characters and no spaces)",
            ],
            "description": [
                "label": "Connector Description",
                "description": "Assign a description to indicate the purpose of the connection",
            ],
            "schedule": [
                "frequency": [
                    "label": "Frequency",
                    "description": "Select how frequently this connection will pull data from the asset",
                    "optionLabels": [
                        "5m": "5 minutes", "10m": "10 minutes", "15m": "15 minutes", "30m": "30 minutes",
                        "1h": "1 hour", "2h": "2 hours", "4h": "4 hours", "6h": "6 hours", "12h": "12 hours",
                        "daily": "Daily",
                    ],
                ],
                "time": [
                    "label": "Time (UTC)",
                    "description": "Set the UTC time to run connector to pull data from data source",
                ],
            ],
            "help": [
                "label": "Help",
                "description": "More details on the datasource setting can be found in the specified link",
            ],
        ],
        "configuration": [
            "name": ["label": "Configuration Name", "placeholder": "Add a configuration name"],
            "description": ["label": "Configuration Description", "placeholder": "Add a configuration description"],
        ],
    ]
}
